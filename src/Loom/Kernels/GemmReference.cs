using System.Numerics;

namespace Loom.Kernels;

/// <summary>
/// The plain triple loop that defines GEMM: C = alpha·op(A)·op(B) + beta·C, with op(X) = X or Xᵀ and row-major
/// storage with leading dimensions lda, ldb, ldc. The fast <see cref="Gemm"/> is tested against it.
/// </summary>
public static class GemmReference
{
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = T.Zero;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[p * lda + i] : a[i * lda + p];
                    var bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                var prev = beta == T.Zero ? T.Zero : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * sum + prev;
            }
        }
    }
}
