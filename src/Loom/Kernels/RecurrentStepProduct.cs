using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// The per-step recurrent products of a small hidden size (h_prev·W_hhᵀ forward, ∂G·W_hh backward: e.g. 32×64·16 and
/// 32×16·64 for an LSTM with H = 16) without a GEMM call: no packing, no block bookkeeping, the whole right operand in
/// L1. At these sizes <see cref="Gemm.Run{T}"/>'s setup and packing cost more than the 2 k multiply-adds (measured: see
/// docs/performance.md, "LSTM step kernels").
/// Each element is summed exactly as <see cref="Gemm"/> sums it — from zero, one FMA per k ascending, then added to C
/// (the micro-kernel's merge fma(acc, 1, 1·C) rounds the same as acc + C) — so the fused recurrent op gives the same
/// bits whichever path ran. Needs k within one GEMM slice (k ≤ <see cref="GemmF32.KC"/>) for that.
/// </summary>
internal static unsafe class RecurrentStepProduct
{
    /// <summary>
    /// Largest k·n (the right operand's size in floats) taken here: H = 16 and 32 LSTMs (1 k and 4 k floats); at H = 128
    /// (64 k) the packed 14×32 GEMM tiles win.
    /// </summary>
    public const int MaxRightOperand = 64 * 64;

    /// <summary>Whether <see cref="Run{T}"/> takes a product of these sizes (float32 on AVX-512, n a multiple of 16).</summary>
    public static bool Takes<T>(int n, int k) =>
        typeof(T) == typeof(float) && Avx512F.IsSupported && n % 16 == 0 && n > 0 && k > 0 && k <= GemmF32.KC && k * n <= MaxRightOperand;

    /// <summary>
    /// C[m×n] = A[m×k]·B[k×n] (+ C when <paramref name="accumulate"/>), all row-major with the given leading dimensions.
    /// The caller checks <see cref="Takes{T}"/> first.
    /// </summary>
    public static void Run<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, bool accumulate, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (!Takes<T>(n, k)) throw new InvalidOperationException($"recurrent step product: {m}×{k}·{k}×{n} is not taken here");
        Check(m, k, a.Length, lda);
        Check(k, n, b.Length, ldb);
        Check(m, n, c.Length, ldc);
        if (m == 0) return;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            Product(m, n, k, (float*)pa, lda, (float*)pb, ldb, accumulate ? (float*)pc : null, ldc, (float*)pc, ldc);
        }
    }

    /// <summary>
    /// C[m×n] = A[m×k]·B[k×n] + <paramref name="bias"/> (one row of n, added to every row): the same bits as
    /// <see cref="Run{T}"/> with <c>accumulate</c> into a C whose rows hold the bias, without writing those rows first
    /// (the input projection of a small stack: 1600 rows of 64 at H = 16, 3 % of a training step as a separate fill).
    /// </summary>
    public static void RunWithBias<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, ReadOnlySpan<T> bias, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (!Takes<T>(n, k)) throw new InvalidOperationException($"recurrent step product: {m}×{k}·{k}×{n} is not taken here");
        Check(m, k, a.Length, lda);
        Check(k, n, b.Length, ldb);
        Check(m, n, c.Length, ldc);
        Check(1, n, bias.Length, n);
        if (m == 0) return;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pbias = bias)
        fixed (T* pc = c)
        {
            Product(m, n, k, (float*)pa, lda, (float*)pb, ldb, (float*)pbias, 0, (float*)pc, ldc);
        }
    }

    /// <summary>
    /// Most multiply-adds of a once-per-call product taken by <see cref="RunTransposedA{T}"/>: the weight gradients of
    /// an H = 16 LSTM over 1,600 rows (16×1600·1600×64: 1.6 M). Above the GEMM's team threshold, these would wake the
    /// second thread for ~100 µs of work, which costs more than it saves at this size (docs/performance.md: H = 16 ran
    /// slower on two threads than on one); H = 128's (105 M) stay on the GEMM and its team.
    /// </summary>
    public const long MaxOncePerCallWork = 1L << 21;

    /// <summary>Whether <see cref="RunTransposedA{T}"/> takes C[m×n] = Aᵀ·B with a depth of k.</summary>
    public static bool TakesTransposedA<T>(int m, int n, int k) =>
        typeof(T) == typeof(float) && Avx512F.IsSupported && n % 16 == 0 && n > 0 && m > 0 && k > 0 && (long)m * n * k <= MaxOncePerCallWork;

    /// <summary>
    /// C[m×n] = op(A)·B with op(A)[i, p] = A[p·lda + i] (A stored k×m, e.g. the weight gradients Hᵀ·∂G over all rows),
    /// C overwritten, on the calling thread. Summed as <see cref="Gemm"/> sums it: per slice of
    /// <see cref="GemmF32.SliceDepth"/> rows of k from zero, one FMA per k ascending, the first slice stored and each
    /// later one added to C — so the result has the GEMM's bits.
    /// </summary>
    public static void RunTransposedA<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (!TakesTransposedA<T>(m, n, k)) throw new InvalidOperationException($"recurrent step product: ({k}×{m})ᵀ·{k}×{n} is not taken here");
        Check(k, m, a.Length, lda);
        Check(k, n, b.Length, ldb);
        Check(m, n, c.Length, ldc);
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            var depth = GemmF32.SliceDepth(k);
            for (var p0 = 0; p0 < k; p0 += depth)
            {
                var kc = Math.Min(depth, k - p0);
                ProductTransposedA(m, n, kc, (float*)pa + ((long)p0 * lda), lda, (float*)pb + ((long)p0 * ldb), ldb, p0 > 0, (float*)pc, ldc);
            }
        }
    }

    // As Product, with A read down its columns: row i of op(A) is column i of A.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ProductTransposedA(int m, int n, int k, float* a, int lda, float* b, int ldb, bool accumulate, float* c, int ldc)
    {
        for (var j = 0; j < n; j += 16)
        {
            var r = 0;
            for (; r + 8 <= m; r += 8)
            {
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
                var bj = b + j;
                var ap = a + r;
                for (var p = 0; p < k; p++, bj += ldb, ap += lda)
                {
                    var bv = Vector512.Load(bj);
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[0]), bv, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[1]), bv, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[2]), bv, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[3]), bv, c3);
                    c4 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[4]), bv, c4);
                    c5 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[5]), bv, c5);
                    c6 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[6]), bv, c6);
                    c7 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[7]), bv, c7);
                }
                var cr = c + (r * ldc) + j;
                Store(c0, cr, accumulate);
                Store(c1, cr + ldc, accumulate);
                Store(c2, cr + (2 * ldc), accumulate);
                Store(c3, cr + (3 * ldc), accumulate);
                Store(c4, cr + (4 * ldc), accumulate);
                Store(c5, cr + (5 * ldc), accumulate);
                Store(c6, cr + (6 * ldc), accumulate);
                Store(c7, cr + (7 * ldc), accumulate);
            }
            for (; r < m; r++)
            {
                var acc = Vector512<float>.Zero;
                var bj = b + j;
                var ap = a + r;
                for (var p = 0; p < k; p++, bj += ldb, ap += lda) acc = Vector512.FusedMultiplyAdd(Vector512.Create(*ap), Vector512.Load(bj), acc);
                Store(acc, c + (r * ldc) + j, accumulate);
            }
        }
    }

    private static void Check(int rows, int cols, int length, int ld)
    {
        if (rows > 0 && (ld < cols || (long)(rows - 1) * ld + cols > length))
            throw new ArgumentException($"recurrent step product: a {rows}×{cols} operand with leading dimension {ld} needs more than {length} elements");
    }

    // Tiles of 8 rows × 16 columns: eight independent FMA chains hide the FMA latency, each B vector is loaded once per
    // k for the eight rows, and the A values are broadcast straight from memory. Each sum is added to row r of
    // `init` (rows initLd apart: C itself to accumulate, a bias row with initLd = 0) when init is not null.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product(int m, int n, int k, float* a, int lda, float* b, int ldb, float* init, nint initLd, float* c, int ldc)
    {
        for (var j = 0; j < n; j += 16)
        {
            var r = 0;
            for (; r + 8 <= m; r += 8)
            {
                var a0 = a + (r * lda);
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
                var bj = b + j;
                for (var p = 0; p < k; p++, bj += ldb)
                {
                    var bv = Vector512.Load(bj);
                    var ap = a0 + p;
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[0]), bv, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[lda]), bv, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[2 * lda]), bv, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[3 * lda]), bv, c3);
                    c4 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[4 * lda]), bv, c4);
                    c5 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[5 * lda]), bv, c5);
                    c6 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[6 * lda]), bv, c6);
                    c7 = Vector512.FusedMultiplyAdd(Vector512.Create(ap[7 * lda]), bv, c7);
                }
                var cr = c + (r * ldc) + j;
                var ir = init + (r * initLd) + j;
                Put(c0, cr, init, ir);
                Put(c1, cr + ldc, init, ir + initLd);
                Put(c2, cr + (2 * ldc), init, ir + (2 * initLd));
                Put(c3, cr + (3 * ldc), init, ir + (3 * initLd));
                Put(c4, cr + (4 * ldc), init, ir + (4 * initLd));
                Put(c5, cr + (5 * ldc), init, ir + (5 * initLd));
                Put(c6, cr + (6 * ldc), init, ir + (6 * initLd));
                Put(c7, cr + (7 * ldc), init, ir + (7 * initLd));
            }
            for (; r < m; r++)
            {
                var ar = a + (r * lda);
                var acc = Vector512<float>.Zero;
                var bj = b + j;
                for (var p = 0; p < k; p++, bj += ldb) acc = Vector512.FusedMultiplyAdd(Vector512.Create(ar[p]), Vector512.Load(bj), acc);
                Put(acc, c + (r * ldc) + j, init, init + (r * initLd) + j);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* c, bool accumulate) => (accumulate ? acc + Vector512.Load(c) : acc).Store(c);

    // acc + *add when there is something to add to (init not null), else acc.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> acc, float* c, float* init, float* add) => (init is null ? acc : acc + Vector512.Load(add)).Store(c);
}
