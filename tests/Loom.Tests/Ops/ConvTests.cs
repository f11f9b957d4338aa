using CsCheck;
using Loom.Kernels;

namespace Loom.Tests.Ops;

/// <summary>Convolution forward values, the im2col kernel against its reference, structural identities and errors.</summary>
public class ConvTests
{
    private static Tensor Ramp(params int[] shape)
    {
        var t = Tensor.Zeros(new Shape(shape));
        var data = t.AsSpan();
        for (var i = 0; i < data.Length; i++) data[i] = i;
        return t;
    }

    private static readonly Gen<PatchGeometry> Patches = Gen.Select(
        Gen.Int[1, 3], Gen.Int[1, 9].Array[2], Gen.Int[1, 4].Array[2], Gen.Int[1, 3].Array[2], Gen.Int[0, 3].Array[4], Gen.Int[1, 3].Array[2],
        (c, size, k, s, p, d) =>
        {
            var oh = global::Loom.Geometry.ConvGeometry.OutputSize(Math.Max(size[0], (d[0] * (k[0] - 1)) + 1), k[0], s[0], p[0], p[1], d[0]);
            var ow = global::Loom.Geometry.ConvGeometry.OutputSize(Math.Max(size[1], (d[1] * (k[1] - 1)) + 1), k[1], s[1], p[2], p[3], d[1]);
            return new PatchGeometry(c, Math.Max(size[0], (d[0] * (k[0] - 1)) + 1), Math.Max(size[1], (d[1] * (k[1] - 1)) + 1), oh, ow,
                k[0], k[1], s[0], s[1], p[0], p[2], d[0], d[1]);
        });

    [Fact]
    public void Im2ColMatchesReference() => Patches.Sample(g =>
    {
        var image = new float[g.ImageSize];
        for (var i = 0; i < image.Length; i++) image[i] = i + 1;
        var fast = new float[g.Rows * g.Columns];
        var slow = new float[g.Rows * g.Columns];
        fast.AsSpan().Fill(float.NaN);   // every entry must be written
        Im2Col.Forward<float>(image, g, fast);
        Im2ColReference.Forward<float>(image, g, slow);
        Assert.Equal(slow, fast);
    }, iter: 300);

    [Fact]
    public void Col2ImMatchesReference() => Patches.Sample(g =>
    {
        var cols = new double[g.Rows * g.Columns];
        for (var i = 0; i < cols.Length; i++) cols[i] = (i % 7) + 0.5;
        var fast = new double[g.ImageSize];
        var slow = new double[g.ImageSize];
        Im2Col.Backward<double>(cols, g, fast);
        Im2ColReference.Backward<double>(cols, g, slow);
        Assert.Equal(slow, fast);
    }, iter: 300);

    [Fact]
    public void Col2ImMatchesReferenceInFloat32() => Patches.Sample(g =>
    {
        // The float32 path adds stride-1 rows with TensorPrimitives: one rounding per element, as the reference.
        var cols = new float[g.Rows * g.Columns];
        for (var i = 0; i < cols.Length; i++) cols[i] = (i % 7) + 0.25f;
        var fast = new float[g.ImageSize];
        var slow = new float[g.ImageSize];
        Im2Col.Backward<float>(cols, g, fast);
        Im2ColReference.Backward<float>(cols, g, slow);
        Assert.Equal(slow, fast);
    }, iter: 300);

    [Fact]
    public void Conv2dSumsEachWindow()
    {
        // x = 0..15 as 4×4, all-ones 2×2 kernel, stride 1, bias 0.5: y[i,j] = x[i,j] + x[i,j+1] + x[i+1,j] + x[i+1,j+1] + 0.5.
        var y = Functional.Conv2d(Ramp(1, 1, 4, 4), Tensor.Ones(1, 1, 2, 2), Tensor.FromArray([0.5f], 1));
        Assert.Equal(new Shape(1, 1, 3, 3), y.Shape);
        Assert.Equal([10.5f, 14.5f, 18.5f, 26.5f, 30.5f, 34.5f, 42.5f, 46.5f, 50.5f], y.ToArray());
    }

    [Fact]
    public void Conv2dWithAsymmetricPaddingStrideAndDilation()
    {
        // x[r, c] = 4r + c (4×4); kernel 2×2 of ones, dilation (2, 1), stride (1, 2), padding top 1, bottom 0, left 0, right 1.
        // Padded height 5 and dilated kernel 3 give 3 rows; padded width 5, kernel 2, stride 2 give 2 columns.
        var y = Functional.Conv2d(Ramp(1, 1, 4, 4), Tensor.Ones(1, 1, 2, 2), null, (1, 2), (1, 0, 0, 1), (2, 1));
        Assert.Equal(new Shape(1, 1, 3, 2), y.Shape);
        // Output row i reads input rows i − 1 and i + 1 (row −1 is padding); column j reads columns 2j and 2j + 1.
        Assert.Equal([4f + 5, 6f + 7, 0f + 1 + 8 + 9, 2f + 3 + 10 + 11, 4f + 5 + 12 + 13, 6f + 7 + 14 + 15], y.ToArray());
    }

    [Fact]
    public void GroupedConvolutionKeepsGroupsApart()
    {
        // Two groups of one channel: filter 0 sees only channel 0, filter 1 only channel 1.
        var x = Tensor.FromArray([1f, 2, 3, 10, 20, 30], 1, 2, 3);
        var w = Tensor.FromArray([1f, 1, -1, 1], 2, 1, 2);
        var y = Functional.Conv1d(x, w, groups: 2);
        Assert.Equal([3f, 5f, 10f, 10f], y.ToArray());
    }

    [Fact]
    public void PointwiseConvolutionEqualsMatrixProduct()
    {
        // A 1×1 kernel with stride 1 and no padding takes the copy-free path: y[n] = W · x[n] (W as F×C).
        var g = new Generator(3);
        var x = Tensor.Randn(new Shape(2, 3, 4, 5), g, DType.Float64).RequiresGrad_();
        var w = Tensor.Randn(new Shape(4, 3, 1, 1), g, DType.Float64).RequiresGrad_();
        var y = Functional.Conv2d(x, w);
        var expected = Functional.MatMul(Functional.Reshape(w, 4, 3), Functional.Reshape(x, 2, 3, 20));
        ConvAssert.Close(expected.ToDoubleArray(), y.ToDoubleArray(), 1e-12);

        var upstream = Tensor.Randn(y.Shape, g, DType.Float64);
        y.Backward(upstream);
        var x2 = x.Detach().Clone().RequiresGrad_();
        var w2 = w.Detach().Clone().RequiresGrad_();
        Functional.MatMul(Functional.Reshape(w2, 4, 3), Functional.Reshape(x2, 2, 3, 20)).Backward(Functional.Reshape(upstream, 2, 4, 20));
        ConvAssert.Close(x2.Grad!.ToDoubleArray(), x.Grad!.ToDoubleArray(), 1e-12);
        ConvAssert.Close(w2.Grad!.ToDoubleArray(), w.Grad!.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void TransposedConvolutionIsTheAdjointOfConvolution()
    {
        // ⟨conv(x), v⟩ = ⟨x, conv_transpose(v)⟩ for the same weight, stride, padding, dilation and groups.
        var g = new Generator(11);
        var x = Tensor.Randn(new Shape(2, 4, 9, 8), g, DType.Float64);
        var w = Tensor.Randn(new Shape(6, 2, 3, 2), g, DType.Float64);
        var conv = new Conv2dOptions { Stride = (2, 3), Padding = (1, 2, 0, 1), Dilation = (2, 1), Groups = 2 };
        var y = Functional.Conv2d(x, w, null, conv);
        var v = Tensor.Randn(y.Shape, g, DType.Float64);
        // output_padding makes the transposed output exactly x's size: H = (H'−1)·s − pads + d·(k−1) + op + 1.
        var opH = 9 - (((y.Shape[2] - 1) * 2) - 3 + (2 * 2) + 1);
        var opW = 8 - (((y.Shape[3] - 1) * 3) - 1 + 1 + 1);
        var transposed = new ConvTranspose2dOptions { Stride = (2, 3), Padding = (1, 2, 0, 1), Dilation = (2, 1), Groups = 2, OutputPadding = (opH, opW) };
        var xt = Functional.ConvTranspose2d(v, w, null, transposed);
        Assert.Equal(x.Shape, xt.Shape);
        var lhs = Functional.Sum(Functional.Mul(y, v)).Item();
        var rhs = Functional.Sum(Functional.Mul(x, xt)).Item();
        Assert.Equal(lhs, rhs, 1e-9);
    }

    [Fact]
    public void UnbatchedInputGivesTheSameAsABatchOfOne()
    {
        var g = new Generator(5);
        var x = Tensor.Randn(new Shape(3, 6, 6), g);
        var w = Tensor.Randn(new Shape(2, 3, 3, 3), g);
        var unbatched = Functional.Conv2d(x, w, padding: 1);
        var batched = Functional.Conv2d(Functional.Unsqueeze(x, 0), w, padding: 1);
        Assert.Equal(new Shape(2, 6, 6), unbatched.Shape);
        Assert.Equal(batched.ToArray(), unbatched.ToArray());
        Assert.Equal(new Shape(2, 3), Functional.Conv1d(Tensor.Ones(4, 5), Tensor.Ones(2, 4, 3)).Shape);
        Assert.Equal(new Shape(3, 4, 4), Functional.ConvTranspose2d(Tensor.Ones(2, 2, 2), Tensor.Ones(2, 3, 3, 3)).Shape);
    }

    [Fact]
    public void EmptyBatchGivesEmptyOutputAndZeroWeightGradient()
    {
        var w = Tensor.Ones(2, 3, 3, 3).RequiresGrad_();
        var b = Tensor.Ones(2).RequiresGrad_();
        var y = Functional.Conv2d(Tensor.Zeros(0, 3, 5, 5), w, b, padding: 1);
        Assert.Equal(new Shape(0, 2, 5, 5), y.Shape);
        y.Backward(Tensor.Zeros(0, 2, 5, 5));
        Assert.All(w.Grad!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(b.Grad!.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(new Shape(0, 3, 2, 2), Functional.MaxPool2d(Tensor.Zeros(0, 3, 4, 4), 2).Shape);
    }

    [Fact]
    public void ErrorsNameTheOpTheTensorsAndBothShapes()
    {
        var e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(1, 3, 8, 8), Tensor.Zeros(8, 4, 3, 3)));
        Assert.Equal("conv2d: input [1, 3, 8, 8] has 3 channels but weight [8, 4, 3, 3] expects 4 (= in_channels/groups 4 × groups 1)", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(1, 4, 8, 8), Tensor.Zeros(6, 2, 3, 3), groups: 4));
        Assert.Equal("conv2d: out_channels 6 of weight [6, 2, 3, 3] is not divisible by groups 4", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(1, 1, 5, 5)));
        Assert.Contains("conv2d", e.Message);
        Assert.Contains("padded height is 3", e.Message);
        Assert.Contains("kernel 5", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(2, 1, 1, 1), Tensor.Zeros(3)));
        Assert.Equal("conv2d: bias must be [2] (one value per output channel of weight [2, 1, 1, 1]), found [3]", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(3, 3), Tensor.Zeros(1, 1, 1, 1)));
        Assert.Equal("conv2d: input must be [N, C, H, W] (or unbatched [C, H, W]), found [3, 3]", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv1d(Tensor.Zeros(1, 2, 5), Tensor.Zeros(1, 2, 3, 3)));
        Assert.Equal("conv1d: weight must be [out_channels, in_channels/groups, k], found [1, 2, 3, 3]", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv1d(Tensor.Zeros(1, 2, 5), Tensor.Zeros(1, 2, 3), stride: 0));
        Assert.Equal("conv1d: stride along length must be positive, found 0", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.Conv2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(new Shape(1, 1, 1, 1), DType.Float64)));
        Assert.Contains("conv2d: operands have different types float32 [1, 1, 3, 3] and float64 [1, 1, 1, 1]", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.ConvTranspose2d(Tensor.Zeros(1, 3, 4, 4), Tensor.Zeros(2, 1, 3, 3)));
        Assert.Equal("conv_transpose2d: input [1, 3, 4, 4] has 3 channels but weight [2, 1, 3, 3] expects 2 (its first axis is in_channels)", e.Message);

        e = Assert.Throws<LoomException>(() => Functional.ConvTranspose2d(Tensor.Zeros(1, 2, 4, 4), Tensor.Zeros(2, 1, 3, 3), stride: 2, outputPadding: 2));
        Assert.Contains("conv_transpose2d: output_padding 2 along height", e.Message);
    }
}

/// <summary>
/// Changes the process-wide <see cref="Threads.Count"/>, so it runs alone (after the parallel tests) and cannot
/// disturb another test's timing or bitwise comparisons.
/// </summary>
[CollectionDefinition("Conv: process-wide thread count", DisableParallelization = true)]
public sealed class ConvThreadCountCollection;

/// <summary>The batch-parallel convolution gives the same bits for a given thread count, and close values across counts.</summary>
[Collection("Conv: process-wide thread count")]
public class ConvDeterminismTests
{
    [Fact]
    public void ResultsAreBitwiseRepeatableForAThreadCount()
    {
        var g = new Generator(9);
        var x = Tensor.Randn(new Shape(5, 3, 7, 7), g);
        var w = Tensor.Randn(new Shape(4, 3, 3, 3), g);
        var upstream = Tensor.Randn(new Shape(5, 4, 7, 7), g);
        float[] Gradient()
        {
            var wl = w.Clone().RequiresGrad_();
            Functional.Conv2d(x, wl, padding: 1).Backward(upstream);
            return wl.Grad!.ToArray();
        }
        var saved = Threads.Count;
        try
        {
            Threads.Count = 2;
            var first = Gradient();
            Assert.Equal(first, Gradient());
            Threads.Count = 1;
            ConvAssert.Close(Array.ConvertAll(first, v => (double)v), Array.ConvertAll(Gradient(), v => (double)v), 1e-4);
        }
        finally
        {
            Threads.Count = saved;
        }
    }
}

/// <summary>
/// The conv kernels unroll several images side by side into one GEMM; one image per chunk (the per-image products)
/// must give the same forward values and, up to float rounding of the longer sums, the same gradients.
/// </summary>
[Collection("Conv: process-wide thread count")]
public class ConvChunkingTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    public void OneImagePerChunkAgreesWithWideChunks(int threads, int groups)
    {
        var g = new Generator(21);
        var x = Tensor.Randn(new Shape(7, 4, 9, 8), g);
        var w = Tensor.Randn(new Shape(6, 4 / groups, 3, 2), g);
        var b = Tensor.Randn(new Shape(6), g);
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run()
        {
            var (xl, wl, bl) = (x.Clone().RequiresGrad_(), w.Clone().RequiresGrad_(), b.Clone().RequiresGrad_());
            var y = Functional.Conv2d(xl, wl, bl, new Conv2dOptions { Stride = (2, 1), Padding = (1, 0, 1, 1), Dilation = (1, 2), Groups = groups });
            var upstream = Tensor.Randn(y.Shape, new Generator(3));
            y.Backward(upstream);
            return (y.ToArray(), xl.Grad!.ToArray(), wl.Grad!.ToArray(), bl.Grad!.ToArray());
        }
        var (savedThreads, savedBudget) = (Threads.Count, ConvKernels.ChunkBudget);
        try
        {
            Threads.Count = threads;
            var wide = Run();
            ConvKernels.ChunkBudget = 1;
            var single = Run();
            Assert.Equal(wide.Y, single.Y);
            Assert.Equal(wide.Dx, single.Dx);
            ConvAssert.Close(Array.ConvertAll(wide.Dw, v => (double)v), Array.ConvertAll(single.Dw, v => (double)v), 1e-5);
            Assert.Equal(wide.Db, single.Db);
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget) = (savedThreads, savedBudget);
        }
    }
}

/// <summary>
/// An image whose column matrix exceeds <see cref="ConvKernels.ChunkBudget"/> is unrolled a band of output rows at a
/// time (the GEMMs read and write the image-side tensors in place): the forward must give the same bits as whole
/// images side by side, the gradients the same values up to the rounding of sums taken in another order.
/// </summary>
[Collection("Conv: process-wide thread count")]
public class ConvBandTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1, 3)]
    [InlineData(2, 2, 3)]
    [InlineData(2, 1, 8)]
    [InlineData(1, 2, 2)]
    public void BandsOfRowsAgreeWithWholeImages(int threads, int groups, int bandRows)
    {
        var g = new Generator(31);
        // 8 output rows (stride 1 along the height): bands of 3 rows are 3, 3, 2; 8 rows is one band per image.
        var x = Tensor.Randn(new Shape(5, 4, 9, 8), g);
        var w = Tensor.Randn(new Shape(6, 4 / groups, 3, 2), g);
        var b = Tensor.Randn(new Shape(6), g);
        var options = new Conv2dOptions { Stride = (1, 2), Padding = (1, 0, 1, 1), Dilation = (1, 2), Groups = groups };
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run()
        {
            var (xl, wl, bl) = (x.Clone().RequiresGrad_(), w.Clone().RequiresGrad_(), b.Clone().RequiresGrad_());
            var y = Functional.Conv2d(xl, wl, bl, options);
            Assert.Equal(new Shape(5, 6, 8, 4), y.Shape);
            y.Backward(Tensor.Randn(y.Shape, new Generator(4)));
            return (y.ToArray(), xl.Grad!.ToArray(), wl.Grad!.ToArray(), bl.Grad!.ToArray());
        }
        var (savedThreads, savedChunk, savedBand) = (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget);
        try
        {
            Threads.Count = threads;
            var whole = Run();
            ConvKernels.ChunkBudget = 1;                                  // every image is banded
            ConvKernels.BandBudget = bandRows * 4 * Math.Max(6, 24 / groups); // rows × outW × max(rows of cols, F)
            var banded = Run();
            Assert.Equal(whole.Y, banded.Y);
            ConvAssert.Close(Array.ConvertAll(whole.Dx, v => (double)v), Array.ConvertAll(banded.Dx, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(whole.Dw, v => (double)v), Array.ConvertAll(banded.Dw, v => (double)v), 1e-5);
            Assert.Equal(whole.Db, banded.Db);
            Assert.Equal(banded.Dw, Run().Dw); // bitwise repeatable
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget) = (savedThreads, savedChunk, savedBand);
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 2, 2)]
    [InlineData(2, 1, 3)]
    public void TransposedSmallWeightGradientGivesTheSameBits(int threads, int groups, int channels)
    {
        // K = (C/G)·3·3 = 9 or 27 weight columns against 32 filters per group: ∂W is computed as ∂Wᵀ = cols · Gᵀ. The
        // same products are summed in the same order, so the bits must equal the untransposed product's.
        var g = new Generator(41);
        var x = Tensor.Randn(new Shape(6, channels, 11, 10), g);
        var w = Tensor.Randn(new Shape(32 * groups, channels / groups, 3, 3), g).RequiresGrad_();
        var upstream = Tensor.Randn(new Shape(6, 32 * groups, 11, 10), g);
        float[] Gradient()
        {
            w.Grad = null;
            Functional.Conv2d(x, w, null, padding: 1, groups: groups).Backward(upstream);
            return w.Grad!.ToArray();
        }
        var (savedThreads, savedMode) = (Threads.Count, ConvKernels.TransposedWeightGradient);
        try
        {
            Threads.Count = threads;
            var transposed = Gradient();
            ConvKernels.TransposedWeightGradient = false;
            var direct = Gradient();
            Assert.Equal(direct, transposed);
            Assert.Contains(direct, v => v != 0f);
        }
        finally
        {
            (Threads.Count, ConvKernels.TransposedWeightGradient) = (savedThreads, savedMode);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    public void StrideOneAdjointAsFlippedCorrelationAgreesWithCol2Im(int threads, int groups)
    {
        // Stride 1 with dilation and uneven padding (top 2 ≤ dH·(kH−1) = 4, left 0): ∂x, and the transposed conv's
        // forward with bias, through the flipped-kernel correlation against GEMM + col2im.
        var g = new Generator(51);
        var x = Tensor.Randn(new Shape(3, 4, 10, 9), g);
        var w = Tensor.Randn(new Shape(6, 4 / groups, 3, 2), g);
        var options = new Conv2dOptions { Padding = (2, 1, 0, 1), Dilation = (2, 1), Groups = groups };
        var transposed = new ConvTranspose2dOptions { Padding = (2, 1, 0, 1), Dilation = (2, 1), Groups = groups };
        (float[] Dx, float[] Up) Run()
        {
            var xl = x.Clone().RequiresGrad_();
            var y = Functional.Conv2d(xl, w, null, options);
            y.Backward(Tensor.Randn(y.Shape, new Generator(5)));
            var wt = Tensor.Randn(new Shape(4, 6 / groups, 3, 2), new Generator(6));
            var bt = Tensor.Randn(new Shape(6), new Generator(7));
            var up = Functional.ConvTranspose2d(x, wt, bt, transposed);
            return (xl.Grad!.ToArray(), up.ToArray());
        }
        var (savedThreads, savedChunk, savedFlip) = (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.FlippedAdjoint);
        try
        {
            Threads.Count = threads;
            ConvKernels.ChunkBudget = 1; // banded: the flipped path applies
            var flipped = Run();
            ConvKernels.FlippedAdjoint = false;
            var col2im = Run();
            ConvAssert.Close(Array.ConvertAll(col2im.Dx, v => (double)v), Array.ConvertAll(flipped.Dx, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(col2im.Up, v => (double)v), Array.ConvertAll(flipped.Up, v => (double)v), 1e-5);
            Assert.Contains(flipped.Dx, v => v != 0f);
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.FlippedAdjoint) = (savedThreads, savedChunk, savedFlip);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    public void ChunkedStrideOneAdjointAsFlippedCorrelationAgreesWithCol2Im(int threads, int groups)
    {
        // Images small enough for chunks, 16 image channels per group (a full 14-row sliver and more): ∂x and the
        // transposed conv's forward with bias through the padded flipped correlation against GEMM + col2im.
        var g = new Generator(52);
        var (c, f) = (16 * groups, 6 * groups);
        var x = Tensor.Randn(new Shape(3, c, 7, 6), g);
        var w = Tensor.Randn(new Shape(f, c / groups, 3, 2), g);
        var options = new Conv2dOptions { Padding = (2, 1, 0, 1), Dilation = (2, 1), Groups = groups };
        var transposed = new ConvTranspose2dOptions { Padding = (2, 1, 0, 1), Dilation = (2, 1), Groups = groups };
        var up = Tensor.Randn(new Shape(3, f, 6, 6), new Generator(8));
        (float[] Dx, float[] Up) Run()
        {
            var xl = x.Clone().RequiresGrad_();
            var y = Functional.Conv2d(xl, w, null, options);
            y.Backward(Tensor.Randn(y.Shape, new Generator(5)));
            var wt = Tensor.Randn(new Shape(f, c / groups, 3, 2), new Generator(6));
            var bt = Tensor.Randn(new Shape(c), new Generator(7));
            return (xl.Grad!.ToArray(), Functional.ConvTranspose2d(up, wt, bt, transposed).ToArray());
        }
        var (savedThreads, savedFlip) = (Threads.Count, ConvKernels.FlippedChunks);
        try
        {
            Threads.Count = threads;
            var patch = new PatchGeometry(c, 7, 6, 6, 6, 3, 2, 1, 1, 2, 0, 2, 1);
            Assert.True(ConvKernels.AdjointTakesFlippedChunks<float>(new ConvPlan(3, groups, f, patch)));
            var flipped = Run();
            Assert.Equal(flipped.Dx, Run().Dx); // bitwise repeatable
            ConvKernels.FlippedChunks = false;
            Assert.False(ConvKernels.AdjointTakesFlippedChunks<float>(new ConvPlan(3, groups, f, patch)));
            var col2im = Run();
            ConvAssert.Close(Array.ConvertAll(col2im.Dx, v => (double)v), Array.ConvertAll(flipped.Dx, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(col2im.Up, v => (double)v), Array.ConvertAll(flipped.Up, v => (double)v), 1e-5);
            Assert.Contains(flipped.Dx, v => v != 0f);
        }
        finally
        {
            (Threads.Count, ConvKernels.FlippedChunks) = (savedThreads, savedFlip);
        }
    }

    [Fact]
    public void BandedImageToColumnsMatchesTheWholeUnrolling() => Gen.Int[1, 5].Sample(rows =>
    {
        // Bands of rows of the column matrix are exactly the whole matrix's column ranges, and col2im by bands adds
        // up to the whole col2im (float64 here: the order of the additions is the only difference).
        var g = new PatchGeometry(2, 7, 6, 7, 5, 3, 2, 1, 1, 1, 0, 1, 1);
        var image = new float[g.ImageSize];
        for (var i = 0; i < image.Length; i++) image[i] = i + 1;
        var whole = new float[g.Rows * g.Columns];
        Im2Col.Forward<float>(image, g, whole);
        var grad = new double[g.ImageSize];
        var cols = Array.ConvertAll(whole, v => (double)v);
        Im2Col.Backward<double>(cols, g, grad);
        var banded = new double[g.ImageSize];
        for (var oh0 = 0; oh0 < g.OutHeight; oh0 += rows)
        {
            var oh1 = Math.Min(g.OutHeight, oh0 + rows);
            var ld = (oh1 - oh0) * g.OutWidth;
            var band = new float[g.Rows * ld];
            band.AsSpan().Fill(float.NaN); // every entry must be written
            Im2Col.Forward<float>(image, g, band, ld, oh0, oh1);
            for (var r = 0; r < g.Rows; r++)
                Assert.Equal(whole.AsSpan((r * g.Columns) + (oh0 * g.OutWidth), ld).ToArray(), band.AsSpan(r * ld, ld).ToArray());
            Im2Col.Backward<double>(Array.ConvertAll(band, v => (double)v), g, banded, ld, oh0, oh1);
        }
        ConvAssert.Close(grad, banded, 1e-12);
    });
}

/// <summary>Element-wise closeness: |actual − expected| ≤ tolerance·(1 + |expected|).</summary>
internal static class ConvAssert
{
    public static void Close(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"element {i}: expected {expected[i]:G17}, actual {actual[i]:G17} (tolerance {tolerance})");
        }
    }
}
