using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// SGEMM for one row of C with op(B) = B and a B too large for L2 (a vector–matrix product): walks B row by row,
/// so it streams through the caches in order, instead of in 32-column slivers that jump a whole row of B per k.
/// Measured on Zen 4 for 1×1024·1024×1024: 86 µs against 310 µs through the micro-kernel. (With 2+ rows the
/// register-blocked kernel wins again.) Each element is summed exactly as in the micro-kernels — from zero per KC
/// slice, one FMA per k ascending, then the same merge — so the result does not depend on which path ran.
/// </summary>
internal static unsafe class GemmSmallM
{
    /// <summary>Used for m = 1 when k·n is at least this (B past ~1 MiB).</summary>
    public const long MinWork = 1L << 18;

    /// <summary>Columns per pass: the accumulators stay in L1.</summary>
    private const int W = 2048;

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmF32.Problem p)
    {
        var acc = stackalloc float[W];
        for (var j0 = 0; j0 < p.N; j0 += W)
        {
            var w = Math.Min(W, p.N - j0);
            var depth = GemmF32.SliceDepth(p.K);
            for (var pc = 0; pc < p.K; pc += depth)
            {
                var kc = Math.Min(depth, p.K - pc);
                new Span<float>(acc, w).Clear();
                for (var k = pc; k < pc + kc; k++) Axpy(*p.AAt(0, k), p.BAt(k, j0), acc, w);
                Merge(acc, p.C + j0, w, p.Alpha, pc == 0 ? p.Beta : 1f);
            }
        }
    }

    // acc[j] = fma(a, b[j], acc[j])
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy(float a, float* b, float* acc, int w)
    {
        var j = 0;
        if (Avx512F.IsSupported)
        {
            var va = Vector512.Create(a);
            for (; j + 16 <= w; j += 16) Vector512.FusedMultiplyAdd(va, Vector512.Load(b + j), Vector512.Load(acc + j)).Store(acc + j);
        }
        else
        {
            var va = Vector256.Create(a);
            for (; j + 8 <= w; j += 8) Vector256.FusedMultiplyAdd(va, Vector256.Load(b + j), Vector256.Load(acc + j)).Store(acc + j);
        }
        for (; j < w; j++) acc[j] = MathF.FusedMultiplyAdd(a, b[j], acc[j]);
    }

    // C = alpha·acc, or fma(acc, alpha, beta·C): the micro-kernels' merge, element by element.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Merge(float* acc, float* c, int w, float alpha, float beta)
    {
        var j = 0;
        if (beta == 0f)
        {
            var va = Vector256.Create(alpha);
            for (; j + 8 <= w; j += 8) (Vector256.Load(acc + j) * va).Store(c + j);
            for (; j < w; j++) c[j] = alpha * acc[j];
        }
        else
        {
            Vector256<float> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
            for (; j + 8 <= w; j += 8) Vector256.FusedMultiplyAdd(Vector256.Load(acc + j), va, vb * Vector256.Load(c + j)).Store(c + j);
            for (; j < w; j++) c[j] = MathF.FusedMultiplyAdd(acc[j], alpha, beta * c[j]);
        }
    }
}
