using System.Numerics;

namespace Loom.Kernels;

/// <summary>
/// General matrix multiply C = alpha·op(A)·op(B) + beta·C on row-major spans (op = optional transpose).
/// float32 takes the packed, cache-blocked SIMD path; float64 (used by gradient checks) a simpler blocked loop.
/// When beta is 0, C's previous contents are ignored (NaNs in C do not leak through).
/// </summary>
public static class Gemm
{
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Placeholder until the packed SIMD kernel lands: correct, slow.
        GemmReference.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
