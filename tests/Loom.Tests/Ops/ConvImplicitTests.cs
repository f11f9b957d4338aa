using Loom.Kernels;

namespace Loom.Tests.Ops;

/// <summary>
/// The implicit-GEMM conv path (float32): the column matrix packed straight from the images. Its pieces are checked
/// against im2col + the explicit GEMM on the same numbers, and the conv products against the explicit path.
/// </summary>
[Collection("Conv: process-wide thread count")]
public class ConvImplicitTests
{
    // (C, H, W, kH, kW, sH, sW, pT, pL, dH, dW, images): strides, dilation, padding wider than the kernel (rows of
    // zeros), several images side by side, and a 48-channel case whose K = 432 takes two k slices.
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 3, 7, 6, 3, 2, 1, 1, 1, 0, 1, 1, 1 },
        new[] { 2, 9, 8, 3, 3, 2, 1, 1, 2, 1, 2, 3 },
        new[] { 1, 5, 11, 2, 3, 1, 3, 4, 3, 2, 1, 2 },
        new[] { 48, 12, 13, 3, 3, 1, 1, 1, 1, 1, 1, 2 },
    };

    private static (PatchGeometry Patch, int Images) Geometry(int[] v)
    {
        var (c, h, w, kh, kw, sh, sw, pt, pl, dh, dw) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
        var outH = ((pt + pt + h - (dh * (kh - 1)) - 1) / sh) + 1;
        var outW = ((pl + pl + w - (dw * (kw - 1)) - 1) / sw) + 1;
        var trim = v.Length > 12 ? v[12] : 0; // fewer windows than the padding allows: a negative bottom/right padding
        return (new PatchGeometry(c, h, w, outH - trim, outW - trim, kh, kw, sh, sw, pt, pl, dh, dw), v[11]);
    }

    private static float[] Random(int n, int seed) => Tensor.Randn(new Shape(n), new Generator((ulong)seed)).ToArray();

    /// <summary>cols [R, m·P] of m images side by side, by the stored im2col.</summary>
    private static float[] Unrolled(float[] images, PatchGeometry g, int m)
    {
        var cols = new float[g.Rows * m * g.Columns];
        for (var i = 0; i < m; i++)
            Im2Col.Forward<float>(images.AsSpan(i * g.ImageSize, g.ImageSize), g, cols.AsSpan(i * g.Columns), m * g.Columns);
        return cols;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public unsafe void RowStretchesAreTheUnrolledMatrix(int[] v)
    {
        var (g, m) = Geometry(v);
        var images = Random(m * g.ImageSize, 1);
        var cols = Unrolled(images, g, m);
        var n = m * g.Columns;
        var row = new float[n];
        fixed (float* x = images, d = row)
        {
            var implicitCols = new ImageColumns(x, g, 0, g.Rows);
            for (var r = 0; r < g.Rows; r++)
            {
                // Stretches starting anywhere (mid output row, across images) and of any length.
                for (var j0 = 0; j0 < n; j0 += 5)
                {
                    var width = Math.Min(n - j0, 1 + ((r + j0) % 37));
                    Array.Fill(row, float.NaN);
                    implicitCols.Row(r, j0, width, d);
                    Assert.Equal(cols.AsSpan(r * n + j0, width).ToArray(), row.AsSpan(0, width).ToArray());
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public unsafe void ColumnsProductAgreesWithTheStoredUnrolling(int[] v)
    {
        // C = A · cols for M = 20 rows (a full 14-row sliver and 6 more, or 12 + 8 / 6·3 + 2) with A packed once.
        var (g, m) = Geometry(v);
        const int rows = 20;
        var images = Random(m * g.ImageSize, 2);
        var a = Random(rows * g.Rows, 3);
        var n = m * g.Columns;
        var expected = new float[rows * n];
        Gemm.Run(false, false, rows, n, g.Rows, 1f, a, g.Rows, Unrolled(images, g, m), n, 0f, expected, n);
        var actual = new float[rows * (n + 3)];
        Array.Fill(actual, float.NaN); // beta = 0 must ignore C's old contents; ldc = n + 3 leaves gaps untouched
        var packed = new float[GemmImplicit.PackedASize(rows, g.Rows)];
        fixed (float* x = images, pa = a, pp = packed, c = actual)
        {
            GemmImplicit.PackA(pa, rows, g.Rows, g.Rows, pp);
            GemmImplicit.Columns(pp, rows, new ImageColumns(x, g, 0, g.Rows), n, c, n + 3);
        }
        for (var i = 0; i < rows; i++)
        {
            ConvAssert.Close(Array.ConvertAll(expected[(i * n)..((i + 1) * n)], e => (double)e),
                Array.ConvertAll(actual[(i * (n + 3))..((i * (n + 3)) + n)], e => (double)e), 1e-5);
            Assert.True(float.IsNaN(actual[(i * (n + 3)) + n]));
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public unsafe void TransposedGradientAgreesWithTheStoredUnrolling(int[] v)
    {
        // C [R, F] = cols · Gᵀ + beta·C for F = 37 (a full 32-column tile and an edge), beta 0 then 1.
        var (g, m) = Geometry(v);
        const int f = 37;
        var images = Random(m * g.ImageSize, 4);
        var grad = Random(f * m * g.Columns, 5);
        var n = m * g.Columns;
        var cols = Unrolled(images, g, m);
        var expected = Random(g.Rows * f, 6);
        var actual = (float[])expected.Clone();
        Gemm.Run(false, true, g.Rows, f, n, 1f, cols, n, grad, n, 1f, expected, f);
        var fresh = new float[g.Rows * f];
        Array.Fill(fresh, float.NaN);
        var expectedFresh = new float[g.Rows * f];
        Gemm.Run(false, true, g.Rows, f, n, 1f, cols, n, grad, n, 0f, expectedFresh, f);
        fixed (float* x = images, pg = grad, c = actual, c0 = fresh)
        {
            var implicitCols = new ImageColumns(x, g, 0, g.Rows);
            GemmImplicit.ColumnsTimesTransposed(implicitCols, n, pg, n, f, 1f, c, f);
            GemmImplicit.ColumnsTimesTransposed(implicitCols, n, pg, n, f, 0f, c0, f);
        }
        ConvAssert.Close(Array.ConvertAll(expected, e => (double)e), Array.ConvertAll(actual, e => (double)e), 1e-5);
        ConvAssert.Close(Array.ConvertAll(expectedFresh, e => (double)e), Array.ConvertAll(fresh, e => (double)e), 1e-5);
    }

    // Stride-1 geometries for the padded layout: dilation, uneven and over-wide padding (a right/bottom side that
    // cuts the image), and blocks of columns that cross from one image into the next.
    public static TheoryData<int[]> StrideOne => new()
    {
        new[] { 3, 7, 6, 3, 2, 1, 1, 1, 0, 1, 1, 1 },
        new[] { 2, 9, 8, 3, 3, 1, 1, 0, 2, 2, 1, 3, 2 },
        new[] { 1, 5, 11, 2, 3, 1, 1, 4, 3, 2, 2, 2 },
        new[] { 48, 12, 13, 3, 3, 1, 1, 1, 1, 1, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(StrideOne))]
    public unsafe void PaddedColumnsAgreeWithTheStoredUnrolling(int[] v)
    {
        var (g, m) = Geometry(v);
        Assert.True(PaddedImages.Applies(g));
        const int rows = 20;
        var images = Random(m * g.ImageSize, 7);
        var a = Random(rows * g.Rows, 8);
        var n = m * g.Columns;
        var expected = new float[rows * n];
        Gemm.Run(false, false, rows, n, g.Rows, 1f, a, g.Rows, Unrolled(images, g, m), n, 0f, expected, n);
        var actual = new float[rows * n];
        Array.Fill(actual, float.NaN);
        var packed = new float[GemmImplicit.PackedASize(rows, g.Rows)];
        var pads = new float[(m * PaddedImages.Size(g)) + PaddedImages.Slack(g)];
        Array.Fill(pads, float.NaN); // Pad must write every float the GEMM reads
        var offsets = new int[g.Rows];
        fixed (float* x = images, pa = a, pp = packed, c = actual, pd = pads)
        fixed (int* po = offsets)
        {
            GemmImplicit.PackA(pa, rows, g.Rows, g.Rows, pp);
            PaddedImages.Pad(x, g, m, pd);
            PaddedImages.Offsets(g, 0, g.Rows, po);
            GemmImplicit.PaddedColumns(pp, rows, new PaddedImages(pd, g, po, g.Rows), m, c, n);
        }
        ConvAssert.Close(Array.ConvertAll(expected, e => (double)e), Array.ConvertAll(actual, e => (double)e), 1e-5);
    }

    [Theory]
    [MemberData(nameof(StrideOne))]
    public unsafe void PaddedTransposedGradientIsTheUnrolledOne(int[] v)
    {
        // ∂Wᵀ [R, F] with the slivers packed straight from padded images: the same packed numbers as through the
        // unrolled rows, so the same bits, for F = 37 (a full tile and an edge), beta 0 and 1, and K = m·P positions
        // whose slices start mid output row and cross images. Pads start as NaN: Pad must write all that is read.
        var (g, m) = Geometry(v);
        const int f = 37;
        var images = Random(m * g.ImageSize, 9);
        var n = m * g.Columns;
        var grad = Random(f * (n + 5), 10);
        var start = Random(g.Rows * f, 11);
        var pads = new float[(m * PaddedImages.Size(g)) + PaddedImages.Slack(g)];
        Array.Fill(pads, float.NaN);
        var offsets = new int[g.Rows];
        foreach (var beta in new[] { 0f, 1f })
        {
            var (expected, actual) = ((float[])start.Clone(), (float[])start.Clone());
            fixed (float* x = images, pg = grad, ce = expected, ca = actual, pd = pads)
            fixed (int* po = offsets)
            {
                GemmImplicit.ColumnsTimesTransposed(new ImageColumns(x, g, 0, g.Rows), n, pg, n + 5, f, beta, ce, f);
                PaddedImages.Pad(x, g, m, pd);
                PaddedImages.Offsets(g, 0, g.Rows, po);
                GemmImplicit.PaddedColumnsTimesTransposed(new PaddedImages(pd, g, po, g.Rows), m, pg, n + 5, f, beta, ca, f);
            }
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData(14, 14, 349, 3)]
    [InlineData(14, 6, 17, 0)]
    [InlineData(8, 8, 8, 5)]
    [InlineData(6, 5, 23, 1)]
    public unsafe void RowsByPointerPackAsStoredRows(int mr, int rows, int kc, int shift)
    {
        // GemmPack.ARows (rows anywhere, shifted) gives the sliver GemmPack.A packs from the same rows stored lda apart
        // (the packed kernel on a machine without in-place A reads it): every k, tails of fewer than 8, spills overwritten.
        const int lda = 401;
        var a = Random(rows * lda, 12);
        var (expected, actual) = (new float[(mr * kc) + 64], new float[(mr * kc) + 64]);
        Array.Fill(expected, float.NaN);
        Array.Fill(actual, float.NaN);
        fixed (float* pa = a, pe = expected, pq = actual)
        {
            var pointers = stackalloc float*[rows];
            for (var i = 0; i < rows; i++) pointers[i] = pa + (i * lda);
            GemmPack.A(pe, mr, rows, kc, pa + shift, lda, false);
            GemmPack.ARows(pq, mr, rows, kc, pointers, shift);
        }
        for (var p = 0; p < kc; p++)
            for (var i = 0; i < rows; i++) Assert.Equal(expected[(p * mr) + i], actual[(p * mr) + i]);
    }

    [Theory]
    [InlineData(1, 1, false, 2)]
    [InlineData(2, 1, false, 2)]
    [InlineData(2, 2, false, 2)]
    [InlineData(1, 1, true, 2)]
    [InlineData(2, 1, true, 2)]
    [InlineData(2, 2, true, 2)]
    [InlineData(1, 1, false, 1)]
    [InlineData(2, 2, false, 1)]
    [InlineData(2, 1, true, 1)]
    [InlineData(2, 2, true, 1)]
    public void ConvAgreesWithTheExplicitPath(int threads, int groups, bool large, int stride)
    {
        // Chunks of images (wide GEMMs + Scatter) or, with a 1-float chunk budget, every image as "large" (one GEMM
        // in place; the explicit path cuts it into bands). Dilated, unevenly padded, with bias; stride 1 takes the
        // padded layout (and its ∂x the flipped correlation through it), stride 2 the unrolled rows.
        var g = new Generator(61);
        var x = Tensor.Randn(new Shape(5, 4, 9, 8), g);
        // 16 filters per group: enough that the weight gradient takes the implicit ∂Wᵀ (TransposedFillsTiles).
        var w = Tensor.Randn(new Shape(16 * groups, 4 / groups, 3, 2), g);
        var b = Tensor.Randn(new Shape(16 * groups), g);
        var options = new Conv2dOptions { Stride = (1, stride), Padding = (1, 0, 1, 1), Dilation = (1, 2), Groups = groups };
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run()
        {
            var (xl, wl, bl) = (x.Clone().RequiresGrad_(), w.Clone().RequiresGrad_(), b.Clone().RequiresGrad_());
            var y = Functional.Conv2d(xl, wl, bl, options);
            y.Backward(Tensor.Randn(y.Shape, new Generator(4)));
            return (y.ToArray(), xl.Grad!.ToArray(), wl.Grad!.ToArray(), bl.Grad!.ToArray());
        }
        var (savedThreads, savedChunk, savedBand, savedImplicit, savedPadded) =
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget, ConvKernels.ImplicitGemm, ConvKernels.PaddedLayout);
        try
        {
            Threads.Count = threads;
            if (large) (ConvKernels.ChunkBudget, ConvKernels.BandBudget) = (1, 48);
            ConvKernels.ImplicitGemm = true;
            var implicitGemm = Run();
            Assert.Equal(implicitGemm.Dw, Run().Dw); // bitwise repeatable
            ConvKernels.PaddedLayout = false;
            var unrolledRows = Run();
            // Stride 1: ∂W packs its slivers from the padded images; the packed numbers, and so the bits, are the same.
            if (stride == 1) Assert.Equal(unrolledRows.Dw, implicitGemm.Dw);
            ConvKernels.ImplicitGemm = false;
            var explicitGemm = Run();
            ConvAssert.Close(Array.ConvertAll(explicitGemm.Y, v => (double)v), Array.ConvertAll(unrolledRows.Y, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(explicitGemm.Dx, v => (double)v), Array.ConvertAll(unrolledRows.Dx, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(explicitGemm.Y, v => (double)v), Array.ConvertAll(implicitGemm.Y, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(explicitGemm.Dx, v => (double)v), Array.ConvertAll(implicitGemm.Dx, v => (double)v), 1e-5);
            ConvAssert.Close(Array.ConvertAll(explicitGemm.Dw, v => (double)v), Array.ConvertAll(implicitGemm.Dw, v => (double)v), 1e-5);
            Assert.Equal(explicitGemm.Db, implicitGemm.Db);
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget, ConvKernels.ImplicitGemm, ConvKernels.PaddedLayout) =
                (savedThreads, savedChunk, savedBand, savedImplicit, savedPadded);
        }
    }
}
