using CsCheck;
using Loom.Geometry;

namespace Loom.Tests.Ops;

/// <summary>
/// Float64 finite-difference checks of the hand-written convolution backward passes (∂x, ∂W, ∂b) over random
/// configurations: per-side padding, stride and dilation per axis, groups, with and without bias. Sizes stay small
/// so each check is quick; the relative error bound is 1e-6.
/// </summary>
public class ConvGradCheckTests
{
    private const double Tolerance = 1e-6;
    private const int Iterations = 40;

    /// <summary>One random convolution: sizes are derived so the padded input always holds the dilated kernel.</summary>
    public sealed record ConvCase(int Batch, int Groups, int GroupChannels, int GroupFilters, int[] Kernel, int[] Stride,
        int[] Dilation, int[] Padding, int[] Extra, bool Bias, ulong Seed)
    {
        public int Channels => GroupChannels * Groups;

        public int Filters => GroupFilters * Groups;

        /// <summary>Input size along axis a: just enough for one window, plus Extra[a].</summary>
        public int Size(int a) => Math.Max(1, ConvGeometry.DilatedKernel(Kernel[a], Dilation[a]) - Padding[2 * a] - Padding[2 * a + 1]) + Extra[a];

        public override string ToString() =>
            $"N={Batch} groups={Groups} C/g={GroupChannels} F/g={GroupFilters} k=[{string.Join(",", Kernel)}] s=[{string.Join(",", Stride)}] " +
            $"d=[{string.Join(",", Dilation)}] pad=[{string.Join(",", Padding)}] extra=[{string.Join(",", Extra)}] bias={Bias} seed={Seed}";

        public Tensor[] Inputs(int spatial, bool transposed)
        {
            var g = new Generator(Seed);
            var sizes = spatial == 1 ? new[] { Size(0) } : [Size(0), Size(1)];
            var kernel = spatial == 1 ? new[] { Kernel[0] } : [Kernel[0], Kernel[1]];
            var x = Tensor.Randn(new Shape([Batch, Channels, .. sizes]), g, DType.Float64);
            var w = transposed
                ? Tensor.Randn(new Shape([Channels, GroupFilters, .. kernel]), g, DType.Float64)
                : Tensor.Randn(new Shape([Filters, GroupChannels, .. kernel]), g, DType.Float64);
            var b = Tensor.Randn(new Shape(Filters), g, DType.Float64);
            return Bias ? [x, w, b] : [x, w];
        }
    }

    private static readonly Gen<ConvCase> Cases = Gen.Select(
        Gen.Int[1, 2], Gen.Int[1, 3], Gen.Int[1, 2], Gen.Int[1, 2], Gen.Int[1, 3].Array[2], Gen.Int[1, 3].Array[2],
        Gen.Int[1, 2].Array[2], Gen.Int[0, 2].Array[4], Gen.Int[0, 3].Array[2], Gen.Bool, Gen.ULong,
        (n, groups, cg, fg, k, s, d, p, extra, bias, seed) => new ConvCase(n, groups, cg, fg, k, s, d, p, extra, bias, seed));

    private static void AssertGradients(Func<Tensor[], Tensor> f, Tensor[] inputs, ConvCase c)
    {
        var result = GradCheck.Run(f, inputs);
        Assert.True(result.RelativeError <= Tolerance, $"{c}: {result}");
    }

    [Fact]
    public void Conv2dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        var (p, s, d) = (c.Padding, c.Stride, c.Dilation);
        AssertGradients(t => Functional.Conv2d(t[0], t[1], c.Bias ? t[2] : null, (s[0], s[1]), (p[0], p[1], p[2], p[3]), (d[0], d[1]), c.Groups),
            c.Inputs(2, transposed: false), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void Conv1dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        AssertGradients(t => Functional.Conv1d(t[0], t[1], c.Bias ? t[2] : null, c.Stride[0], (c.Padding[0], c.Padding[1]), c.Dilation[0], c.Groups),
            c.Inputs(1, transposed: false), c);
    }, iter: Iterations, threads: 1);

    [Fact]
    public void ConvTranspose2dGradientsMatchFiniteDifferences() => Cases.Sample(c =>
    {
        var (s, d) = (c.Stride, c.Dilation);
        var inputs = c.Inputs(2, transposed: true);
        // Keep the output non-empty: crop no more than the full output (padding 0) can give, output_padding < max(s, d).
        var pad = new int[4];
        var outPad = new int[2];
        for (var a = 0; a < 2; a++)
        {
            outPad[a] = (int)((c.Seed >> (8 * a)) % (ulong)Math.Max(s[a], d[a]));
            var full = (inputs[0].Shape[2 + a] - 1) * s[a] + ConvGeometry.DilatedKernel(c.Kernel[a], d[a]) + outPad[a];
            pad[2 * a] = Math.Min(c.Padding[2 * a], full - 1);
            pad[2 * a + 1] = Math.Min(c.Padding[2 * a + 1], full - 1 - pad[2 * a]);
        }
        var options = new ConvTranspose2dOptions
        {
            Stride = (s[0], s[1]),
            Padding = (pad[0], pad[1], pad[2], pad[3]),
            OutputPadding = (outPad[0], outPad[1]),
            Dilation = (d[0], d[1]),
            Groups = c.Groups,
        };
        AssertGradients(t => Functional.ConvTranspose2d(t[0], t[1], c.Bias ? t[2] : null, options), inputs, c);
    }, iter: Iterations, threads: 1);
}
