using CsCheck;
using Loom.Geometry;

namespace Loom.Tests.Ops;

/// <summary>
/// Float64 finite-difference checks of the pooling backward passes over random kernel, stride (or the default),
/// padding (≤ kernel/2), dilation and ceil mode. Max-pool inputs are distinct values 0.1 apart in random order, so
/// the ±1e-6 perturbations never change a window's winner.
/// </summary>
public class PoolGradCheckTests
{
    private const double Tolerance = 1e-6;
    private const int Iterations = 40;

    /// <summary>One random pooling; Extra lengthens each axis beyond one window.</summary>
    public sealed record PoolCase(int Batch, int Channels, int[] Kernel, int[]? Stride, int[] PadSeed, int[] Dilation, int[] Extra,
        bool CeilMode, bool CountIncludePad, ulong Seed)
    {
        public int Padding(int a) => PadSeed[a] % (Kernel[a] / 2 + 1);

        public int StrideOf(int a) => Stride?[a] ?? Kernel[a];

        public int Size(int a, bool dilated) =>
            Math.Max(1, ConvGeometry.DilatedKernel(Kernel[a], dilated ? Dilation[a] : 1) - 2 * Padding(a)) + Extra[a];

        public override string ToString() =>
            $"N={Batch} C={Channels} k=[{string.Join(",", Kernel)}] s=[{(Stride is null ? "default" : string.Join(",", Stride))}] " +
            $"p=[{Padding(0)},{Padding(1)}] d=[{string.Join(",", Dilation)}] extra=[{string.Join(",", Extra)}] ceil={CeilMode} " +
            $"count_include_pad={CountIncludePad} seed={Seed}";

        /// <summary>Distinct, well-separated values (a shuffled 0.1-spaced ramp), so max pooling has no near-ties.</summary>
        public Tensor DistinctInput(params int[] shape)
        {
            var t = Tensor.Zeros(new Shape(shape), DType.Float64);
            var order = new Generator(Seed).Permutation(t.Numel);
            var data = t.AsDoubleSpan();
            for (var i = 0; i < data.Length; i++) data[i] = 0.1 * order[i] - 0.05 * data.Length;
            return t;
        }

        public Tensor RandomInput(params int[] shape) => Tensor.Randn(new Shape(shape), new Generator(Seed), DType.Float64);
    }

    private static readonly Gen<PoolCase> Cases = Gen.Select(
        Gen.Int[1, 2], Gen.Int[1, 3], Gen.Int[1, 4].Array[2], Gen.Int[1, 3].Array[2].Null(0.3), Gen.Int[0, 2].Array[2],
        Gen.Int[1, 3].Array[2], Gen.Int[0, 4].Array[2], Gen.Bool, Gen.Bool, Gen.ULong,
        (n, c, k, s, p, d, extra, ceil, cip, seed) => new PoolCase(n, c, k, s, p, d, extra, ceil, cip, seed));

    private static void AssertGradients(Func<Tensor[], Tensor> f, Tensor x, PoolCase c)
    {
        using (global::Loom.Autograd.NoGrad())
        {
            // A dilated window may hold only padding (its max is −∞, as in PyTorch); such cases have no gradient to check.
            foreach (var v in f([x]).ToDoubleArray())
                if (double.IsInfinity(v)) return;
        }
        var result = GradCheck.Run(f, [x]);
        Assert.True(result.RelativeError <= Tolerance, $"{c}: {result}");
    }

    [Fact]
    public void MaxPool2dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        var options = new MaxPool2dOptions((c.Kernel[0], c.Kernel[1]))
        {
            Stride = c.Stride is null ? null : (c.Stride[0], c.Stride[1]),
            Padding = (c.Padding(0), c.Padding(1)),
            Dilation = (c.Dilation[0], c.Dilation[1]),
            CeilMode = c.CeilMode,
        };
        AssertGradients(t => Functional.MaxPool2d(t[0], options), c.DistinctInput(c.Batch, c.Channels, c.Size(0, true), c.Size(1, true)), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void MaxPool1dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        AssertGradients(t => Functional.MaxPool1d(t[0], c.Kernel[0], c.Stride?[0], c.Padding(0), c.Dilation[0], c.CeilMode),
            c.DistinctInput(c.Batch, c.Channels, c.Size(0, true)), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void AvgPool2dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        var options = new AvgPool2dOptions((c.Kernel[0], c.Kernel[1]))
        {
            Stride = c.Stride is null ? null : (c.Stride[0], c.Stride[1]),
            Padding = (c.Padding(0), c.Padding(1)),
            CeilMode = c.CeilMode,
            CountIncludePad = c.CountIncludePad,
            DivisorOverride = c.Seed % 5 == 0 ? 3 : null,
        };
        AssertGradients(t => Functional.AvgPool2d(t[0], options), c.RandomInput(c.Batch, c.Channels, c.Size(0, false), c.Size(1, false)), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void AvgPool1dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        AssertGradients(t => Functional.AvgPool1d(t[0], c.Kernel[0], c.Stride?[0], c.Padding(0), c.CeilMode, c.CountIncludePad),
            c.RandomInput(c.Batch, c.Channels, c.Size(0, false)), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void AdaptiveAvgPool2dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        // Output sizes both below and above the input size (PyTorch allows both).
        var (h, w) = (c.Kernel[0] + c.Extra[0], c.Kernel[1] + c.Extra[1]);
        var output = (1 + (int)(c.Seed % (ulong)(h + 1)), 1 + (int)(c.Seed / 7 % (ulong)(w + 1)));
        AssertGradients(t => Functional.AdaptiveAvgPool2d(t[0], output), c.RandomInput(c.Batch, c.Channels, h, w), c);
    }, iter: Iterations, threads: 1);
}
