using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// A register-blocked SGEMM micro-kernel: it multiplies a packed MR×kc sliver of A (k-major, MR floats per k) by a
/// kc×NR sliver of B (NR floats per k, rows <c>bStride</c> floats apart) and merges the MR×NR result into C.
/// </summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of C per tile: one broadcast of A per row and k.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile: whole vectors of B per k.</summary>
    static abstract int NR { get; }

    /// <summary>
    /// C[0..rows, 0..NR) = alpha·acc + beta·C, where acc = Σ_p A[·,p]·B[p,·]; beta = 0 ignores C's old contents.
    /// Every element is summed in the same order (p ascending, one FMA per p), whatever its place in the tile.
    /// </summary>
    static abstract void Tile(int rows, int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta);

    /// <summary>Whether <see cref="TileRowsA"/> is implemented (else A is always packed).</summary>
    static abstract bool RowsA { get; }

    /// <summary><see cref="Tile"/> with op(A) = A read in place: row i of the tile at a + i·lda.</summary>
    static abstract void TileRowsA(int rows, int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta);
}

/// <summary>A compile-time row count: the JIT specialises the kernels per struct and drops the unused rows.</summary>
internal interface IRows
{
    static abstract int N { get; }
}

#pragma warning disable CA1852, SA1649 // tiny marker structs, one line each
internal struct R1 : IRows { public static int N => 1; }
internal struct R2 : IRows { public static int N => 2; }
internal struct R3 : IRows { public static int N => 3; }
internal struct R4 : IRows { public static int N => 4; }
internal struct R5 : IRows { public static int N => 5; }
internal struct R6 : IRows { public static int N => 6; }
internal struct R7 : IRows { public static int N => 7; }
internal struct R8 : IRows { public static int N => 8; }
internal struct R9 : IRows { public static int N => 9; }
internal struct R10 : IRows { public static int N => 10; }
internal struct R11 : IRows { public static int N => 11; }
internal struct R12 : IRows { public static int N => 12; }
internal struct R13 : IRows { public static int N => 13; }
internal struct R14 : IRows { public static int N => 14; }

/// <summary>Where a 512-bit kernel reads A: packed slivers, or the rows of A in place.</summary>
internal interface IASource { static abstract bool Packed { get; } }
internal struct PackedA : IASource { public static bool Packed => true; }
internal struct InPlaceA : IASource { public static bool Packed => false; }
#pragma warning restore CA1852, SA1649

/// <summary>
/// AVX-512: 14 rows × 32 columns (2 zmm per row) = 28 accumulators + 2 B vectors + 1 broadcast = 31 of the 32 zmm
/// registers. Per k: 2 loads of B, 14 broadcasts of A, 28 FMAs.
/// </summary>
internal readonly unsafe struct Kernel512 : IGemmKernel
{
    public static int MR => 14;

    public static int NR => 32;

    public static bool RowsA => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int rows, int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
    {
        switch (rows)
        {
            case 14: Run<R14, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 13: Run<R13, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 12: Run<R12, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 11: Run<R11, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 10: Run<R10, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 9: Run<R9, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 8: Run<R8, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 7: Run<R7, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 6: Run<R6, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 5: Run<R5, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 4: Run<R4, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 3: Run<R3, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            case 2: Run<R2, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
            default: Run<R1, PackedA>(kc, a, 0, b, bStride, c, ldc, alpha, beta); break;
        }
    }

    /// <summary>
    /// <see cref="Tile"/> with A read where it is stored: row i of the sliver at <paramref name="a"/> + i·lda, k
    /// along the row (op(A) = A, not transposed). Small products skip packing A this way (64×64·64×64: the packing
    /// was ~9 % of the call); the FMAs, and so the results, are exactly the packed kernel's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TileRowsA(int rows, int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
    {
        switch (rows)
        {
            case 14: Run<R14, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 13: Run<R13, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 12: Run<R12, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 11: Run<R11, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 10: Run<R10, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 9: Run<R9, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 8: Run<R8, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 7: Run<R7, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 6: Run<R6, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 5: Run<R5, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 4: Run<R4, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 3: Run<R3, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            case 2: Run<R2, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
            default: Run<R1, InPlaceA>(kc, a, lda, b, bStride, c, ldc, alpha, beta); break;
        }
    }

    /// <summary>
    /// The 14×32 body for TR rows. PackedA: A packed k-major, 14 floats per k. InPlaceA: A's rows in place, lda apart;
    /// the 14 row addresses are formed from five base pointers and lda·{1, 2, 4, 8} (x86 scaled-index addressing),
    /// so they need few registers and no multiplies in the loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TR, TA>(int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
        where TR : struct, IRows
        where TA : struct, IASource
    {
        const int mr = 14;
        // Fetch C's tile into cache while the k loop runs; its rows are merged only at the end.
        for (var r = 0; r < TR.N; r++) Touch(c + r * ldc, 32);
        var ld = lda * sizeof(float);
        byte* s0 = (byte*)a, s3 = s0 + 3 * ld, s6 = s0 + 6 * ld, s9 = s0 + 9 * ld, s12 = s0 + 12 * ld;
        Vector512<float> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default;
        Vector512<float> c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;
        Vector512<float> c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default;
        Vector512<float> c9a = default, c9b = default, c10a = default, c10b = default, c11a = default, c11b = default;
        Vector512<float> c12a = default, c12b = default, c13a = default, c13b = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(TA.Packed ? a[0] : *(float*)(s0)); c0a = Vector512.FusedMultiplyAdd(x, b0, c0a); c0b = Vector512.FusedMultiplyAdd(x, b1, c0b);
            if (TR.N > 1) { x = Vector512.Create(TA.Packed ? a[1] : *(float*)(s0 + ld)); c1a = Vector512.FusedMultiplyAdd(x, b0, c1a); c1b = Vector512.FusedMultiplyAdd(x, b1, c1b); }
            if (TR.N > 2) { x = Vector512.Create(TA.Packed ? a[2] : *(float*)(s0 + 2 * ld)); c2a = Vector512.FusedMultiplyAdd(x, b0, c2a); c2b = Vector512.FusedMultiplyAdd(x, b1, c2b); }
            if (TR.N > 3) { x = Vector512.Create(TA.Packed ? a[3] : *(float*)(s3)); c3a = Vector512.FusedMultiplyAdd(x, b0, c3a); c3b = Vector512.FusedMultiplyAdd(x, b1, c3b); }
            if (TR.N > 4) { x = Vector512.Create(TA.Packed ? a[4] : *(float*)(s0 + 4 * ld)); c4a = Vector512.FusedMultiplyAdd(x, b0, c4a); c4b = Vector512.FusedMultiplyAdd(x, b1, c4b); }
            if (TR.N > 5) { x = Vector512.Create(TA.Packed ? a[5] : *(float*)(s3 + 2 * ld)); c5a = Vector512.FusedMultiplyAdd(x, b0, c5a); c5b = Vector512.FusedMultiplyAdd(x, b1, c5b); }
            if (TR.N > 6) { x = Vector512.Create(TA.Packed ? a[6] : *(float*)(s6)); c6a = Vector512.FusedMultiplyAdd(x, b0, c6a); c6b = Vector512.FusedMultiplyAdd(x, b1, c6b); }
            if (TR.N > 7) { x = Vector512.Create(TA.Packed ? a[7] : *(float*)(s3 + 4 * ld)); c7a = Vector512.FusedMultiplyAdd(x, b0, c7a); c7b = Vector512.FusedMultiplyAdd(x, b1, c7b); }
            if (TR.N > 8) { x = Vector512.Create(TA.Packed ? a[8] : *(float*)(s0 + 8 * ld)); c8a = Vector512.FusedMultiplyAdd(x, b0, c8a); c8b = Vector512.FusedMultiplyAdd(x, b1, c8b); }
            if (TR.N > 9) { x = Vector512.Create(TA.Packed ? a[9] : *(float*)(s9)); c9a = Vector512.FusedMultiplyAdd(x, b0, c9a); c9b = Vector512.FusedMultiplyAdd(x, b1, c9b); }
            if (TR.N > 10) { x = Vector512.Create(TA.Packed ? a[10] : *(float*)(s6 + 4 * ld)); c10a = Vector512.FusedMultiplyAdd(x, b0, c10a); c10b = Vector512.FusedMultiplyAdd(x, b1, c10b); }
            if (TR.N > 11) { x = Vector512.Create(TA.Packed ? a[11] : *(float*)(s3 + 8 * ld)); c11a = Vector512.FusedMultiplyAdd(x, b0, c11a); c11b = Vector512.FusedMultiplyAdd(x, b1, c11b); }
            if (TR.N > 12) { x = Vector512.Create(TA.Packed ? a[12] : *(float*)(s12)); c12a = Vector512.FusedMultiplyAdd(x, b0, c12a); c12b = Vector512.FusedMultiplyAdd(x, b1, c12b); }
            if (TR.N > 13) { x = Vector512.Create(TA.Packed ? a[13] : *(float*)(s9 + 4 * ld)); c13a = Vector512.FusedMultiplyAdd(x, b0, c13a); c13b = Vector512.FusedMultiplyAdd(x, b1, c13b); }
            if (TA.Packed) a += mr;
            else
            {
                s0 += sizeof(float);
                s3 += sizeof(float);
                s6 += sizeof(float);
                s9 += sizeof(float);
                s12 += sizeof(float);
            }
            b += bStride;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Put(c, c0a, c0b, va);
            if (TR.N > 1) Put(c + ldc, c1a, c1b, va);
            if (TR.N > 2) Put(c + 2 * ldc, c2a, c2b, va);
            if (TR.N > 3) Put(c + 3 * ldc, c3a, c3b, va);
            if (TR.N > 4) Put(c + 4 * ldc, c4a, c4b, va);
            if (TR.N > 5) Put(c + 5 * ldc, c5a, c5b, va);
            if (TR.N > 6) Put(c + 6 * ldc, c6a, c6b, va);
            if (TR.N > 7) Put(c + 7 * ldc, c7a, c7b, va);
            if (TR.N > 8) Put(c + 8 * ldc, c8a, c8b, va);
            if (TR.N > 9) Put(c + 9 * ldc, c9a, c9b, va);
            if (TR.N > 10) Put(c + 10 * ldc, c10a, c10b, va);
            if (TR.N > 11) Put(c + 11 * ldc, c11a, c11b, va);
            if (TR.N > 12) Put(c + 12 * ldc, c12a, c12b, va);
            if (TR.N > 13) Put(c + 13 * ldc, c13a, c13b, va);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Merge(c, c0a, c0b, va, vb);
            if (TR.N > 1) Merge(c + ldc, c1a, c1b, va, vb);
            if (TR.N > 2) Merge(c + 2 * ldc, c2a, c2b, va, vb);
            if (TR.N > 3) Merge(c + 3 * ldc, c3a, c3b, va, vb);
            if (TR.N > 4) Merge(c + 4 * ldc, c4a, c4b, va, vb);
            if (TR.N > 5) Merge(c + 5 * ldc, c5a, c5b, va, vb);
            if (TR.N > 6) Merge(c + 6 * ldc, c6a, c6b, va, vb);
            if (TR.N > 7) Merge(c + 7 * ldc, c7a, c7b, va, vb);
            if (TR.N > 8) Merge(c + 8 * ldc, c8a, c8b, va, vb);
            if (TR.N > 9) Merge(c + 9 * ldc, c9a, c9b, va, vb);
            if (TR.N > 10) Merge(c + 10 * ldc, c10a, c10b, va, vb);
            if (TR.N > 11) Merge(c + 11 * ldc, c11a, c11b, va, vb);
            if (TR.N > 12) Merge(c + 12 * ldc, c12a, c12b, va, vb);
            if (TR.N > 13) Merge(c + 13 * ldc, c13a, c13b, va, vb);
        }
    }

    /// <summary>Prefetches the cache lines of <paramref name="count"/> floats from <paramref name="p"/> into L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Touch(float* p, int count)
    {
        if (!Sse.IsSupported) return;
        Sse.Prefetch0(p);
        Sse.Prefetch0(p + 16);
        Sse.Prefetch0(p + count - 1);
    }

    // C = alpha·acc
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector512<float> x, Vector512<float> y, Vector512<float> va)
    {
        (x * va).Store(c);
        (y * va).Store(c + 16);
    }

    // C = fma(acc, alpha, beta·C): the same rounding as the scalar edge path (MathF.FusedMultiplyAdd).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge(float* c, Vector512<float> x, Vector512<float> y, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.FusedMultiplyAdd(x, va, vb * Vector512.Load(c)).Store(c);
        Vector512.FusedMultiplyAdd(y, va, vb * Vector512.Load(c + 16)).Store(c + 16);
    }
}

/// <summary>
/// Vector256 with AVX2's 16 ymm registers: 6 rows × 16 columns (2 ymm per row) = 12 accumulators + 2 B vectors +
/// 1 broadcast.
/// </summary>
internal readonly unsafe struct Kernel256 : IGemmKernel
{
    public static int MR => 6;

    public static int NR => 16;

    public static bool RowsA => false;

    public static void TileRowsA(int rows, int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta) =>
        throw new NotSupportedException("gemm: the Vector256 kernels read A packed only");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int rows, int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
    {
        switch (rows)
        {
            case 6: Rows256.Run<R6, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 5: Rows256.Run<R5, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 4: Rows256.Run<R4, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 3: Rows256.Run<R3, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 2: Rows256.Run<R2, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            default: Rows256.Run<R1, R6>(kc, a, b, bStride, c, ldc, alpha, beta); break;
        }
    }
}

/// <summary>
/// Vector256 where AVX-512VL gives 32 ymm registers: 12 rows × 16 columns = 24 accumulators + 2 B vectors +
/// 1 broadcast (the fair 256-bit rival of <see cref="Kernel512"/>).
/// </summary>
internal readonly unsafe struct Kernel256Wide : IGemmKernel
{
    public static int MR => 12;

    public static int NR => 16;

    public static bool RowsA => false;

    public static void TileRowsA(int rows, int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta) =>
        throw new NotSupportedException("gemm: the Vector256 kernels read A packed only");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int rows, int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
    {
        switch (rows)
        {
            case 12: Rows256.Run<R12, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 11: Rows256.Run<R11, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 10: Rows256.Run<R10, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 9: Rows256.Run<R9, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 8: Rows256.Run<R8, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 7: Rows256.Run<R7, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 6: Rows256.Run<R6, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 5: Rows256.Run<R5, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 4: Rows256.Run<R4, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 3: Rows256.Run<R3, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            case 2: Rows256.Run<R2, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
            default: Rows256.Run<R1, R12>(kc, a, b, bStride, c, ldc, alpha, beta); break;
        }
    }
}

/// <summary>The Vector256 micro-kernel body: TR rows of 16 columns, A packed TM floats per k.</summary>
internal static unsafe class Rows256
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TR, TM>(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
        where TR : struct, IRows
        where TM : struct, IRows
    {
        for (var r = 0; r < TR.N; r++) Kernel512.Touch(c + r * ldc, 16);
        Vector256<float> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default;
        Vector256<float> c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;
        Vector256<float> c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default;
        Vector256<float> c9a = default, c9b = default, c10a = default, c10b = default, c11a = default, c11b = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> x;
            x = Vector256.Create(a[0]); c0a = Vector256.FusedMultiplyAdd(x, b0, c0a); c0b = Vector256.FusedMultiplyAdd(x, b1, c0b);
            if (TR.N > 1) { x = Vector256.Create(a[1]); c1a = Vector256.FusedMultiplyAdd(x, b0, c1a); c1b = Vector256.FusedMultiplyAdd(x, b1, c1b); }
            if (TR.N > 2) { x = Vector256.Create(a[2]); c2a = Vector256.FusedMultiplyAdd(x, b0, c2a); c2b = Vector256.FusedMultiplyAdd(x, b1, c2b); }
            if (TR.N > 3) { x = Vector256.Create(a[3]); c3a = Vector256.FusedMultiplyAdd(x, b0, c3a); c3b = Vector256.FusedMultiplyAdd(x, b1, c3b); }
            if (TR.N > 4) { x = Vector256.Create(a[4]); c4a = Vector256.FusedMultiplyAdd(x, b0, c4a); c4b = Vector256.FusedMultiplyAdd(x, b1, c4b); }
            if (TR.N > 5) { x = Vector256.Create(a[5]); c5a = Vector256.FusedMultiplyAdd(x, b0, c5a); c5b = Vector256.FusedMultiplyAdd(x, b1, c5b); }
            if (TR.N > 6) { x = Vector256.Create(a[6]); c6a = Vector256.FusedMultiplyAdd(x, b0, c6a); c6b = Vector256.FusedMultiplyAdd(x, b1, c6b); }
            if (TR.N > 7) { x = Vector256.Create(a[7]); c7a = Vector256.FusedMultiplyAdd(x, b0, c7a); c7b = Vector256.FusedMultiplyAdd(x, b1, c7b); }
            if (TR.N > 8) { x = Vector256.Create(a[8]); c8a = Vector256.FusedMultiplyAdd(x, b0, c8a); c8b = Vector256.FusedMultiplyAdd(x, b1, c8b); }
            if (TR.N > 9) { x = Vector256.Create(a[9]); c9a = Vector256.FusedMultiplyAdd(x, b0, c9a); c9b = Vector256.FusedMultiplyAdd(x, b1, c9b); }
            if (TR.N > 10) { x = Vector256.Create(a[10]); c10a = Vector256.FusedMultiplyAdd(x, b0, c10a); c10b = Vector256.FusedMultiplyAdd(x, b1, c10b); }
            if (TR.N > 11) { x = Vector256.Create(a[11]); c11a = Vector256.FusedMultiplyAdd(x, b0, c11a); c11b = Vector256.FusedMultiplyAdd(x, b1, c11b); }
            a += TM.N;
            b += bStride;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Put(c, c0a, c0b, va);
            if (TR.N > 1) Put(c + ldc, c1a, c1b, va);
            if (TR.N > 2) Put(c + 2 * ldc, c2a, c2b, va);
            if (TR.N > 3) Put(c + 3 * ldc, c3a, c3b, va);
            if (TR.N > 4) Put(c + 4 * ldc, c4a, c4b, va);
            if (TR.N > 5) Put(c + 5 * ldc, c5a, c5b, va);
            if (TR.N > 6) Put(c + 6 * ldc, c6a, c6b, va);
            if (TR.N > 7) Put(c + 7 * ldc, c7a, c7b, va);
            if (TR.N > 8) Put(c + 8 * ldc, c8a, c8b, va);
            if (TR.N > 9) Put(c + 9 * ldc, c9a, c9b, va);
            if (TR.N > 10) Put(c + 10 * ldc, c10a, c10b, va);
            if (TR.N > 11) Put(c + 11 * ldc, c11a, c11b, va);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Merge(c, c0a, c0b, va, vb);
            if (TR.N > 1) Merge(c + ldc, c1a, c1b, va, vb);
            if (TR.N > 2) Merge(c + 2 * ldc, c2a, c2b, va, vb);
            if (TR.N > 3) Merge(c + 3 * ldc, c3a, c3b, va, vb);
            if (TR.N > 4) Merge(c + 4 * ldc, c4a, c4b, va, vb);
            if (TR.N > 5) Merge(c + 5 * ldc, c5a, c5b, va, vb);
            if (TR.N > 6) Merge(c + 6 * ldc, c6a, c6b, va, vb);
            if (TR.N > 7) Merge(c + 7 * ldc, c7a, c7b, va, vb);
            if (TR.N > 8) Merge(c + 8 * ldc, c8a, c8b, va, vb);
            if (TR.N > 9) Merge(c + 9 * ldc, c9a, c9b, va, vb);
            if (TR.N > 10) Merge(c + 10 * ldc, c10a, c10b, va, vb);
            if (TR.N > 11) Merge(c + 11 * ldc, c11a, c11b, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector256<float> x, Vector256<float> y, Vector256<float> va)
    {
        (x * va).Store(c);
        (y * va).Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge(float* c, Vector256<float> x, Vector256<float> y, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.FusedMultiplyAdd(x, va, vb * Vector256.Load(c)).Store(c);
        Vector256.FusedMultiplyAdd(y, va, vb * Vector256.Load(c + 8)).Store(c + 8);
    }
}
