using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// Packing for SGEMM: copies a block of op(A) or op(B) into the k-major slivers the micro-kernel reads with unit
/// stride, so the kernel never sees leading dimensions or transposes.
/// </summary>
internal static unsafe class GemmPack
{
    /// <summary>
    /// A sliver: rows × kc of op(A) starting at <paramref name="a"/> (already offset to row i0, column p0 of op(A))
    /// → dst[p·mr + i]. Rows beyond <paramref name="rows"/> are not written (the kernel does not read them).
    /// </summary>
    public static void A(float* dst, int mr, int rows, int kc, float* a, nint lda, bool transA)
    {
        if (transA)
        {
            // op(A)[i, p] = a[p·lda + i]: each k gives `rows` contiguous floats.
            for (var p = 0; p < kc; p++)
            {
                var src = a + p * lda;
                var d = dst + p * mr;
                for (var i = 0; i < rows; i++) d[i] = src[i];
            }
            return;
        }
        // op(A)[i, p] = a[i·lda + p]: read each row contiguously, write with stride mr. Four p at a time keeps
        // four rows' loads independent of the stores.
        for (var i = 0; i < rows; i++)
        {
            var src = a + i * lda;
            var d = dst + i;
            var p = 0;
            for (; p + 4 <= kc; p += 4)
            {
                float x0 = src[p], x1 = src[p + 1], x2 = src[p + 2], x3 = src[p + 3];
                d[p * mr] = x0;
                d[(p + 1) * mr] = x1;
                d[(p + 2) * mr] = x2;
                d[(p + 3) * mr] = x3;
            }
            for (; p < kc; p++) d[p * mr] = src[p];
        }
    }

    /// <summary>
    /// B block: kc × nc of op(B) starting at <paramref name="b"/> (offset to row p0, column j0 of op(B)) → slivers of
    /// nr columns, sliver s at dst + s·kc·nr, element [p, j] at p·nr + j. The last sliver is zero-padded to nr.
    /// </summary>
    public static void B(float* dst, int nr, int kc, int nc, float* b, nint ldb, bool transB)
    {
        for (var j0 = 0; j0 < nc; j0 += nr)
        {
            var cols = Math.Min(nr, nc - j0);
            var d = dst + (nint)j0 * kc;
            if (transB) BTransposed(d, nr, kc, cols, b + j0 * ldb, ldb);
            else BRows(d, nr, kc, cols, b + j0, ldb);
        }
    }

    // op(B)[p, j] = b[p·ldb + j]: a row of `cols` contiguous floats per k.
    private static void BRows(float* d, int nr, int kc, int cols, float* b, nint ldb)
    {
        if (cols == nr && nr == 32 && Vector512.IsHardwareAccelerated)
        {
            for (var p = 0; p < kc; p++, d += nr)
            {
                var s = b + p * ldb;
                Vector512.Load(s).Store(d);
                Vector512.Load(s + 16).Store(d + 16);
            }
            return;
        }
        if (cols == nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated)
        {
            for (var p = 0; p < kc; p++, d += nr)
            {
                var s = b + p * ldb;
                for (var j = 0; j < nr; j += 8) Vector256.Load(s + j).Store(d + j);
            }
            return;
        }
        for (var p = 0; p < kc; p++, d += nr)
        {
            var s = b + p * ldb;
            var j = 0;
            for (; j < cols; j++) d[j] = s[j];
            for (; j < nr; j++) d[j] = 0f;
        }
    }

    // op(B)[p, j] = b[j·ldb + p]: column j of the sliver is row j of b.
    private static void BTransposed(float* d, int nr, int kc, int cols, float* b, nint ldb)
    {
        for (var j = 0; j < cols; j++)
        {
            var s = b + j * ldb;
            var dj = d + j;
            var p = 0;
            for (; p + 4 <= kc; p += 4)
            {
                float x0 = s[p], x1 = s[p + 1], x2 = s[p + 2], x3 = s[p + 3];
                dj[p * nr] = x0;
                dj[(p + 1) * nr] = x1;
                dj[(p + 2) * nr] = x2;
                dj[(p + 3) * nr] = x3;
            }
            for (; p < kc; p++) dj[p * nr] = s[p];
        }
        if (cols < nr)
        {
            for (var p = 0; p < kc; p++)
                new Span<float>(d + p * nr + cols, nr - cols).Clear();
        }
    }
}
