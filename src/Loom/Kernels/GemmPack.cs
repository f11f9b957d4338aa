using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// Packing for SGEMM: copies a block of op(A) or op(B) into the k-major slivers the micro-kernel reads with unit
/// stride, so the kernel never sees leading dimensions or transposes. Where the source runs along k (A as stored,
/// Bᵀ), 8×8 blocks are transposed in registers.
/// </summary>
internal static unsafe class GemmPack
{
    /// <summary>
    /// A sliver: rows × kc of op(A) starting at <paramref name="a"/> (already offset to row i0, column p0 of op(A))
    /// → dst[p·mr + i]. Rows beyond <paramref name="rows"/> are not written (the kernel does not read them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void A(float* dst, int mr, int rows, int kc, float* a, nint lda, bool transA)
    {
        if (transA)
        {
            // op(A)[i, p] = a[p·lda + i]: each k gives `rows` contiguous floats.
            for (var p = 0; p < kc; p++)
            {
                var src = a + p * lda;
                var d = dst + p * mr;
                var i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i + 8 <= rows; i += 8) Vector256.Load(src + i).Store(d + i);
                }
                for (; i < rows; i++) d[i] = src[i];
            }
            return;
        }
        // op(A)[i, p] = a[i·lda + p]: rows run along k; transpose 8 rows × 8 k at a time. A group of fewer than 8
        // rows still stores 8 floats per k, spilling into the next k's first rows (or, after the last k, up to 8
        // floats past the sliver: the next sliver, packed later, or the buffer's slack); the groups are therefore
        // stored from the last to the first, and k ascending, so that every spill is overwritten by real data.
        var p0 = 0;
        if (Avx.IsSupported)
        {
            var last = (rows - 1) / 8 * 8;
            for (; p0 + 8 <= kc; p0 += 8)
            {
                for (var i0 = last; i0 >= 0; i0 -= 8)
                    Transposed8(a + i0 * lda + p0, lda, Math.Min(8, rows - i0), dst + p0 * mr + i0, mr);
            }
        }
        for (var i = 0; i < rows; i++)
        {
            var src = a + i * lda;
            for (var p = p0; p < kc; p++) dst[p * mr + i] = src[p];
        }
    }

    /// <summary>
    /// A sliver whose rows lie anywhere: op(A)[i, p] = rows[i][<paramref name="shift"/> + p] for i &lt; <paramref name="count"/>, p &lt; kc →
    /// dst[p·mr + i], as <see cref="A"/> with transA = false (8 rows × 8 k transposed in registers, the same spill
    /// rule: groups stored from the last to the first, so a spill lands only on rows written after it, or up to 8
    /// floats past the sliver). The implicit weight gradient packs its column-matrix rows straight from padded
    /// images with it, a run of positions at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ARows(float* dst, int mr, int count, int kc, float** rows, nint shift)
    {
        var p0 = 0;
        if (Avx.IsSupported)
        {
            var last = (count - 1) / 8 * 8;
            for (; p0 + 8 <= kc; p0 += 8)
            {
                for (var i0 = last; i0 >= 0; i0 -= 8)
                    Transposed8(rows + i0, shift + p0, Math.Min(8, count - i0), dst + p0 * mr + i0, mr);
            }
        }
        for (var i = 0; i < count; i++)
        {
            var src = rows[i] + shift;
            for (var p = p0; p < kc; p++) dst[p * mr + i] = src[p];
        }
    }

    /// <summary>
    /// B block: kc × nc of op(B) starting at <paramref name="b"/> (offset to row p0, column j0 of op(B)) → slivers of
    /// nr columns, sliver s at dst + s·kc·nr, element [p, j] at p·nr + j. The last sliver is zero-padded to nr.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void B(float* dst, int nr, int kc, int nc, float* b, nint ldb, bool transB)
    {
        if (transB) BTransposed(dst, nr, kc, nc, b, ldb);
        else BRows(dst, nr, kc, nc, b, ldb);
    }

    // op(B)[p, j] = b[p·ldb + j]: walk b row by row (sequential reads) and deal each row out to the slivers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per row or per time step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void BRows(float* dst, int nr, int kc, int nc, float* b, nint ldb)
    {
        for (var p = 0; p < kc; p++) BRow(b + p * ldb, dst + p * nr, nr, kc, nc);
    }

    /// <summary>One row of B (nc floats at s) → its place in each sliver (nr floats, slivers kc·nr apart; the last
    /// zero-padded). Shared by the packers that build B's rows elsewhere first (implicit conv GEMMs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BRow(float* s, float* d, int nr, int kc, int nc)
    {
        var full = nc - nc % nr;
        var sliver = (nint)kc * nr;
        var j = 0;
        if (nr == 32 && Vector512.IsHardwareAccelerated)
        {
            for (; j < full; j += 32, d += sliver)
            {
                Vector512.Load(s + j).Store(d);
                Vector512.Load(s + j + 16).Store(d + 16);
            }
        }
        else if (nr % 8 == 0 && Vector256.IsHardwareAccelerated)
        {
            for (; j < full; j += nr, d += sliver)
            {
                for (var t = 0; t < nr; t += 8) Vector256.Load(s + j + t).Store(d + t);
            }
        }
        else
        {
            for (; j < full; j += nr, d += sliver)
            {
                for (var t = 0; t < nr; t++) d[t] = s[j + t];
            }
        }
        if (full < nc)
        {
            var t = 0;
            for (; t < nc - full; t++) d[t] = s[full + t];
            for (; t < nr; t++) d[t] = 0f;
        }
    }

    // op(B)[p, j] = b[j·ldb + p]: column j of a sliver is row j of b; transpose 8 columns × 8 k at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per row or per time step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void BTransposed(float* dst, int nr, int kc, int nc, float* b, nint ldb)
    {
        for (var j0 = 0; j0 < nc; j0 += nr)
        {
            var cols = Math.Min(nr, nc - j0);
            var d = dst + (nint)j0 * kc;
            var src = b + j0 * ldb;
            var p0 = 0;
            if (Avx.IsSupported)
            {
                for (; p0 + 8 <= kc; p0 += 8)
                {
                    for (var c0 = 0; c0 < nr; c0 += 8)
                    {
                        // Past the last column, read row 0 again and store zeros: the padding must be finite.
                        var n = Math.Clamp(cols - c0, 0, 8);
                        Transposed8(src + (n == 0 ? 0 : c0 * ldb) + p0, ldb, n, d + p0 * nr + c0, nr);
                    }
                }
            }
            for (var p = p0; p < kc; p++)
            {
                var dp = d + p * nr;
                for (var j = 0; j < cols; j++) dp[j] = src[j * ldb + p];
                for (var j = cols; j < nr; j++) dp[j] = 0f;
            }
        }
    }

    /// <summary>
    /// <see cref="Transposed8(float*, nint, int, float*, nint)"/> for rows given by pointer: row t is
    /// rows[t] + <paramref name="p0"/> (t &lt; <paramref name="count"/>; the missing rows read as zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transposed8(float** rows, nint p0, int count, float* dst, nint dstStride)
    {
        var r0 = count > 0 ? Vector256.Load(rows[0] + p0) : default;
        var r1 = count > 1 ? Vector256.Load(rows[1] + p0) : default;
        var r2 = count > 2 ? Vector256.Load(rows[2] + p0) : default;
        var r3 = count > 3 ? Vector256.Load(rows[3] + p0) : default;
        var r4 = count > 4 ? Vector256.Load(rows[4] + p0) : default;
        var r5 = count > 5 ? Vector256.Load(rows[5] + p0) : default;
        var r6 = count > 6 ? Vector256.Load(rows[6] + p0) : default;
        var r7 = count > 7 ? Vector256.Load(rows[7] + p0) : default;
        StoreTransposed(r0, r1, r2, r3, r4, r5, r6, r7, dst, dstStride);
    }

    /// <summary>Writes the transpose of the 8×8 block whose rows are r0…r7: row t of the result to dst + t·dstStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTransposed(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint dstStride)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + dstStride);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * dstStride);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * dstStride);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * dstStride);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * dstStride);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * dstStride);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * dstStride);
    }

    /// <summary>
    /// Reads an 8×8 block (<paramref name="rows"/> real rows of 8 floats, <paramref name="srcStride"/> apart; the
    /// missing rows read as zero) and writes its transpose: row t of the result to dst + t·dstStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transposed8(float* src, nint srcStride, int rows, float* dst, nint dstStride)
    {
        var r0 = rows > 0 ? Vector256.Load(src) : default;
        var r1 = rows > 1 ? Vector256.Load(src + srcStride) : default;
        var r2 = rows > 2 ? Vector256.Load(src + 2 * srcStride) : default;
        var r3 = rows > 3 ? Vector256.Load(src + 3 * srcStride) : default;
        var r4 = rows > 4 ? Vector256.Load(src + 4 * srcStride) : default;
        var r5 = rows > 5 ? Vector256.Load(src + 5 * srcStride) : default;
        var r6 = rows > 6 ? Vector256.Load(src + 6 * srcStride) : default;
        var r7 = rows > 7 ? Vector256.Load(src + 7 * srcStride) : default;
        StoreTransposed(r0, r1, r2, r3, r4, r5, r6, r7, dst, dstStride);
    }
}
