using CsCheck;
using Loom.Kernels;

namespace Loom.Tests.Ops;

/// <summary>
/// The fused conv+ReLU, conv+ReLU+max-pool and ReLU+max-pool ops against the unfused ops on the same inputs: the
/// values bit for bit, the gradients to 1e-6 relative (they differ at most in the sign of zeros), over random
/// groups, strides, per-side padding, dilation and pooling settings, with 1 and 2 threads, whole-image chunks, one
/// image per chunk and banded images; and float64 finite-difference checks of each fused op.
/// </summary>
[Collection("Conv: process-wide thread count")]
public class FusedConvTests
{
    /// <summary>One random conv (+ pool) configuration; sizes leave room for the dilated kernel and one 2-wide pool window.</summary>
    public sealed record FusedCase(int Batch, int Groups, int GroupChannels, int GroupFilters, int[] Kernel, int[] Stride, int[] Dilation,
        int[] Padding, int[] Extra, bool Bias, int PoolKernel, int PoolStride, int PoolPadding, int PoolDilation, bool CeilMode, ulong Seed)
    {
        public int Size(int a) => Math.Max(1, global::Loom.Geometry.ConvGeometry.DilatedKernel(Kernel[a], Dilation[a]) - Padding[2 * a] - Padding[2 * a + 1])
            + Stride[a] * (PoolDilation * (PoolKernel - 1)) + Extra[a];

        public Conv2dOptions Conv => new()
        {
            Stride = (Stride[0], Stride[1]),
            Padding = (Padding[0], Padding[1], Padding[2], Padding[3]),
            Dilation = (Dilation[0], Dilation[1]),
            Groups = Groups,
        };

        public MaxPool2dOptions Pool => new((PoolKernel, PoolKernel))
        {
            Stride = (PoolStride, PoolStride),
            Padding = (PoolPadding, PoolPadding),
            Dilation = (PoolDilation, PoolDilation),
            CeilMode = CeilMode,
        };

        public Tensor[] Inputs(DType dtype)
        {
            var g = new Generator(Seed);
            var x = Tensor.Randn(new Shape(Batch, GroupChannels * Groups, Size(0), Size(1)), g, dtype);
            var w = Tensor.Randn(new Shape(GroupFilters * Groups, GroupChannels, Kernel[0], Kernel[1]), g, dtype);
            var b = Tensor.Randn(new Shape(GroupFilters * Groups), g, dtype);
            return Bias ? [x, w, b] : [x, w];
        }

        public override string ToString() =>
            $"N={Batch} groups={Groups} C/g={GroupChannels} F/g={GroupFilters} k=[{string.Join(",", Kernel)}] s=[{string.Join(",", Stride)}] " +
            $"d=[{string.Join(",", Dilation)}] pad=[{string.Join(",", Padding)}] extra=[{string.Join(",", Extra)}] bias={Bias} " +
            $"pool k={PoolKernel} s={PoolStride} p={PoolPadding} d={PoolDilation} ceil={CeilMode} seed={Seed}";
    }

    private static readonly Gen<FusedCase> Cases = Gen.Select(
        Gen.Select(Gen.Int[1, 3], Gen.Int[1, 2], Gen.Int[1, 3], Gen.Int[1, 3], Gen.Int[1, 3].Array[2], Gen.Int[1, 2].Array[2],
            Gen.Int[1, 2].Array[2], Gen.Int[0, 2].Array[4]),
        Gen.Select(Gen.Int[0, 4].Array[2], Gen.Bool, Gen.Int[2, 3], Gen.Int[1, 3], Gen.Int[0, 1], Gen.Int[1, 2], Gen.Bool, Gen.ULong),
        (a, b) => new FusedCase(a.Item1, a.Item2, a.Item3, a.Item4, a.Item5, a.Item6, a.Item7, a.Item8,
            b.Item1, b.Item2, b.Item3, b.Item4, b.Item5, b.Item6, b.Item7, b.Item8));

    private sealed record Result(float[] Y, float[][] Grads);

    /// <summary>Runs <paramref name="f"/> on fresh leaves and back-propagates a fixed random upstream gradient.</summary>
    private static Result Run(Func<Tensor[], Tensor> f, Tensor[] inputs)
    {
        var leaves = inputs.Select(t => t.Clone().RequiresGrad_()).ToArray();
        var y = f(leaves);
        y.Backward(Tensor.Randn(y.Shape, new Generator(5), y.DType));
        return new Result(y.ToArray(), leaves.Select(l => l.Grad!.ToArray()).ToArray());
    }

    private static void AssertSame(Result unfused, Result fused, string label)
    {
        Assert.True(unfused.Y.AsSpan().SequenceEqual(fused.Y), $"{label}: fused values differ from the unfused ops'");
        for (var k = 0; k < unfused.Grads.Length; k++)
        {
            var (e, a) = (unfused.Grads[k], fused.Grads[k]);
            var scale = e.Max(v => Math.Abs((double)v)) + 1e-30;
            for (var i = 0; i < e.Length; i++)
                if (!(Math.Abs((double)a[i] - e[i]) <= 1e-6 * scale))
                    Assert.Fail($"{label}: gradient {k} element {i}: unfused {e[i]:G9}, fused {a[i]:G9}");
        }
    }

    private static Tensor? Bias(Tensor[] t) => t.Length > 2 ? t[2] : null;

    private static void CompareAll(FusedCase c, string setting)
    {
        var inputs = c.Inputs(DType.Float32);
        var label = $"{setting} {c}";
        AssertSame(Run(t => Functional.Relu(Functional.Conv2d(t[0], t[1], Bias(t), c.Conv)), inputs),
            Run(t => Functional.Conv2dRelu(t[0], t[1], Bias(t), c.Conv), inputs), "conv+relu " + label);
        AssertSame(Run(t => Functional.MaxPool2d(Functional.Relu(Functional.Conv2d(t[0], t[1], Bias(t), c.Conv)), c.Pool), inputs),
            Run(t => Functional.Conv2dReluMaxPool2d(t[0], t[1], Bias(t), c.Conv, c.Pool), inputs), "conv+relu+pool " + label);
        AssertSame(Run(t => Functional.MaxPool2d(Functional.Relu(t[0]), c.Pool), inputs[..1]),
            Run(t => Functional.ReluMaxPool2d(t[0], c.Pool), inputs[..1]), "relu+pool " + label);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FusedOpsEqualTheUnfusedOps(int threads)
    {
        var (savedThreads, savedChunk, savedBand) = (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget);
        try
        {
            Threads.Count = threads;
            Cases.Sample(c =>
            {
                (ConvKernels.ChunkBudget, ConvKernels.BandBudget) = (savedChunk, savedBand);
                CompareAll(c, $"threads={threads} whole chunks");
                ConvKernels.ChunkBudget = 1; // one image per chunk, or bands of rows where an image has more than one row
                CompareAll(c, $"threads={threads} chunk budget 1");
                ConvKernels.BandBudget = 1;
                CompareAll(c, $"threads={threads} one-row bands");
            }, iter: 25, threads: 1);
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget) = (savedThreads, savedChunk, savedBand);
        }
    }

    [Fact]
    public void SmallCnnShapesGiveTheSameBitsWithOneAndTwoThreadsRepeated()
    {
        // The W3 layer sizes (batch cut to 6): the 2×2 fast pooling path inside the conv epilogue.
        var g = new Generator(8);
        Tensor[] inputs = [Tensor.Randn(new Shape(6, 1, 28, 28), g), Tensor.Randn(new Shape(32, 1, 3, 3), g), Tensor.Randn(new Shape(32), g)];
        var conv = new Conv2dOptions { Padding = (1, 1, 1, 1) };
        var pool = new MaxPool2dOptions((2, 2));
        var saved = Threads.Count;
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                Threads.Count = threads;
                var unfused = Run(t => Functional.MaxPool2d(Functional.Relu(Functional.Conv2d(t[0], t[1], t[2], conv)), pool), inputs);
                var fused = Run(t => Functional.Conv2dReluMaxPool2d(t[0], t[1], t[2], conv, pool), inputs);
                AssertSame(unfused, fused, $"threads={threads}");
                var again = Run(t => Functional.Conv2dReluMaxPool2d(t[0], t[1], t[2], conv, pool), inputs);
                Assert.Equal(fused.Y, again.Y);
                for (var k = 0; k < 3; k++) Assert.Equal(fused.Grads[k], again.Grads[k]);
            }
        }
        finally
        {
            Threads.Count = saved;
        }
    }

    [Fact]
    public void FusedOpsPassFloat64GradientChecks() => Cases.Sample(c =>
    {
        var inputs = c.Inputs(DType.Float64);
        foreach (var (name, f) in new (string, Func<Tensor[], Tensor>)[]
        {
            ("conv+relu", t => Functional.Conv2dRelu(t[0], t[1], Bias(t), c.Conv)),
            ("conv+relu+pool", t => Functional.Conv2dReluMaxPool2d(t[0], t[1], Bias(t), c.Conv, c.Pool)),
        })
        {
            var result = GradCheck.Run(f, inputs);
            Assert.True(result.RelativeError <= 1e-6, $"{name} {c}: {result}");
        }
        var pooled = GradCheck.Run(t => Functional.ReluMaxPool2d(t[0], c.Pool), inputs[..1]);
        Assert.True(pooled.RelativeError <= 1e-6, $"relu+pool {c}: {pooled}");
    }, iter: 20, threads: 1);

    [Fact]
    public void UnbatchedInputGivesTheUnfusedShapesAndValues()
    {
        var g = new Generator(2);
        var (x, w, b) = (Tensor.Randn(new Shape(2, 9, 7), g), Tensor.Randn(new Shape(4, 2, 3, 3), g), Tensor.Randn(new Shape(4), g));
        var conv = new Conv2dOptions { Padding = (1, 1, 1, 1) };
        var pool = new MaxPool2dOptions((2, 2));
        var unfused = Functional.MaxPool2d(Functional.Relu(Functional.Conv2d(x, w, b, conv)), pool);
        var fused = Functional.Conv2dReluMaxPool2d(x, w, b, conv, pool);
        Assert.Equal(new Shape(4, 4, 3), fused.Shape);
        Assert.Equal(unfused.ToArray(), fused.ToArray());
        Assert.Equal(Functional.Relu(Functional.Conv2d(x, w, b, conv)).ToArray(), Functional.Conv2dRelu(x, w, b, conv).ToArray());
    }
}
