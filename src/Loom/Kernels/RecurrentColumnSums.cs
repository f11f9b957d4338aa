using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// The column sums of a recurrent stack's gate gradients (the bias gradients: Σ over all T·N rows of ∂G, e.g.
/// 1600 × 64 for an LSTM with H = 16) with the sums in registers: 64 columns per pass, one add per row. Adding one row
/// at a time into the output span (TensorPrimitives.Add per row) cost one call and a load/store of the partial sums
/// per row, 5 % of an H = 16 training step (docs/performance.md, "LSTM W5, second pass").
/// Each column is summed as before — from zero, rows in ascending order, one rounding per add — so the bits do not
/// change, and a split of the columns over threads changes none either.
/// </summary>
internal static unsafe class RecurrentColumnSums
{
    /// <summary>Whether <see cref="Run"/> runs here (AVX-512F); otherwise callers add row by row.</summary>
    public static bool Supported => Avx512F.IsSupported;

    /// <summary>
    /// sum[j − c0] = Σ_r m[r·ld + j] for columns j in [c0, c1), rows r ascending from zero; <paramref name="sum"/> is
    /// overwritten.
    /// </summary>
    public static void Run(ReadOnlySpan<float> m, int rows, int ld, int c0, int c1, Span<float> sum)
    {
        if (!Supported) throw new InvalidOperationException("recurrent column sums: AVX-512F is not available");
        if (c0 < 0 || c1 < c0 || c1 > ld || sum.Length < c1 - c0 || (rows > 0 && (long)(rows - 1) * ld + c1 > m.Length))
            throw new ArgumentException($"recurrent column sums: {rows} rows × columns [{c0}, {c1}) of leading dimension {ld} do not fit {m.Length} elements");
        fixed (float* pm = m)
        fixed (float* ps = sum)
        {
            Sums(pm, rows, ld, c0, c1, ps);
        }
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sums(float* m, int rows, int ld, int c0, int c1, float* sum)
    {
        var j = c0;
        // Four independent chains per pass hide the add latency.
        for (; j + 64 <= c1; j += 64)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            var p = m + j;
            for (var r = 0; r < rows; r++, p += ld)
            {
                s0 += Vector512.Load(p);
                s1 += Vector512.Load(p + 16);
                s2 += Vector512.Load(p + 32);
                s3 += Vector512.Load(p + 48);
            }
            var o = sum + (j - c0);
            s0.Store(o);
            s1.Store(o + 16);
            s2.Store(o + 32);
            s3.Store(o + 48);
        }
        for (; j + 16 <= c1; j += 16)
        {
            var s = Vector512<float>.Zero;
            var p = m + j;
            for (var r = 0; r < rows; r++, p += ld) s += Vector512.Load(p);
            s.Store(sum + (j - c0));
        }
        for (; j < c1; j++)
        {
            var s = 0f;
            var p = m + j;
            for (var r = 0; r < rows; r++, p += ld) s += *p;
            sum[j - c0] = s;
        }
    }
}
