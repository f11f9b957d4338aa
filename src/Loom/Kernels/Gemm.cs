using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Loom.Kernels;

/// <summary>
/// General matrix multiply C = alpha·op(A)·op(B) + beta·C on row-major spans (op = optional transpose).
/// float32 takes the packed, cache-blocked SIMD path (<see cref="GemmF32"/>); float64 (used by gradient checks) a
/// simpler vectorised row loop (<see cref="GemmRows"/>); other types the reference loop.
/// When beta is 0, C's previous contents are ignored (NaNs in C do not leak through).
/// </summary>
/// <remarks>
/// Results are bitwise identical from run to run for a given <see cref="Threads.Count"/> (and, for float32, across
/// thread counts and kernel widths too): each element of C is summed in a fixed order that no schedule changes.
/// </remarks>
public static class Gemm
{
    /// <summary>The float32 micro-kernel in use (the bench prints it; tests switch it to cover both widths).</summary>
    public static GemmKernelWidth KernelWidth
    {
        get => GemmF32.Width;
        set => GemmF32.Width = value;
    }

    /// <summary>Whether this CPU can run the given float32 kernel.</summary>
    public static bool Supported(GemmKernelWidth width) => GemmF32.Supported(width);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code for the first calls
    public static unsafe void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new LoomException($"gemm: sizes must not be negative, got m={m} n={n} k={k}");
        Check("A", transA ? k : m, transA ? m : k, a.Length, lda);
        Check("B", transB ? n : k, transB ? k : n, b.Length, ldb);
        Check("C", m, n, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            // An empty sum: C = alpha·0 + beta·C.
            for (var i = 0; i < m; i++)
            {
                var row = c.Slice(i * ldc, n);
                for (var j = 0; j < n; j++) row[j] = alpha * T.Zero + (beta == T.Zero ? T.Zero : beta * row[j]);
            }
            return;
        }
        if (typeof(T) == typeof(float) && GemmF32.Width != GemmKernelWidth.Portable)
        {
            fixed (float* pa = MemoryMarshal.Cast<T, float>(a))
            fixed (float* pb = MemoryMarshal.Cast<T, float>(b))
            fixed (float* pc = MemoryMarshal.Cast<T, float>(c))
            {
                GemmF32.Run(transA, transB, m, n, k, float.CreateTruncating(alpha), pa, lda, pb, ldb,
                    float.CreateTruncating(beta), pc, ldc, GemmF32.Width);
            }
            return;
        }
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            GemmRows.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        GemmReference.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    // A stored matrix of rows × cols with leading dimension ld must fit in its span.
    private static void Check(string name, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new LoomException($"gemm: leading dimension of {name} is {ld}, less than its {cols} columns");
        if (rows == 0 || cols == 0) return;
        var need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new LoomException($"gemm: {name} is {rows}×{cols} with leading dimension {ld}: needs {need} elements, span has {length}");
    }
}
