using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Loom.Kernels;

/// <summary>
/// The simple GEMM path (float64, and float32 on CPUs without AVX2 + FMA): for each row i of C,
/// acc = Σ_p op(A)[i, p] · op(B)[p, :] with vectorised row FMAs, then C[i, :] = alpha·acc + beta·C[i, :].
/// op(B) is first copied row-major when transposed. Single-threaded; used for gradient checks, not for speed.
/// </summary>
internal static class GemmRows
{
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? bt = null;
        var acc = ArrayPool<T>.Shared.Rent(n);
        try
        {
            var bRows = b;
            var ldbRows = ldb;
            if (transB)
            {
                // op(B)[p, j] = b[j·ldb + p] → bt[p·n + j]
                bt = ArrayPool<T>.Shared.Rent(k * n);
                for (var j = 0; j < n; j++)
                {
                    var src = b.Slice(j * ldb, k);
                    for (var p = 0; p < k; p++) bt[p * n + j] = src[p];
                }
                bRows = bt.AsSpan(0, k * n);
                ldbRows = n;
            }
            var sum = acc.AsSpan(0, n);
            for (var i = 0; i < m; i++)
            {
                sum.Clear();
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[p * lda + i] : a[i * lda + p];
                    TensorPrimitives.FusedMultiplyAdd(bRows.Slice(p * ldbRows, n), av, sum, sum);
                }
                var row = c.Slice(i * ldc, n);
                if (beta == T.Zero)
                {
                    TensorPrimitives.Multiply(sum, alpha, row);
                }
                else
                {
                    TensorPrimitives.Multiply(row, beta, row);
                    TensorPrimitives.FusedMultiplyAdd(sum, alpha, row, row);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(acc);
            if (bt != null) ArrayPool<T>.Shared.Return(bt);
        }
    }
}
