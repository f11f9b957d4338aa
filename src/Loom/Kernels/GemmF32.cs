using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>Which SGEMM micro-kernel runs.</summary>
public enum GemmKernelWidth
{
    /// <summary>Plain vectorised row loop, for machines without AVX2 + FMA.</summary>
    Portable,

    /// <summary>Vector256 (AVX2 + FMA), 6×16 tiles.</summary>
    Vector256,

    /// <summary>Vector512 (AVX-512F), 14×32 tiles.</summary>
    Vector512,
}

/// <summary>
/// Single-precision GEMM, GotoBLAS/BLIS style. For each NC-wide column block of C and each KC-deep slice of k, the
/// kc×nc block of op(B) is packed once (it then stays in L2); for each MR-row sliver of op(A), packed into L1, the
/// micro-kernel sweeps the block's NR-wide B slivers. Work is split over threads by fixed column (or row) ranges
/// aligned to tiles, never over k, so each element's summation order is the same for any schedule.
/// </summary>
internal static unsafe class GemmF32
{
    /// <summary>Depth of a packed slice: the A sliver (MR·KC floats) stays in L1.</summary>
    public const int KC = 256;

    /// <summary>Width of a packed B block (KC·NC floats = 512 KiB, within a core's L2).</summary>
    public const int NC = 512;

    /// <summary>Below this many multiply-adds a single thread does the work (dispatch costs more than it saves).</summary>
    public const long ParallelWork = 96L * 96 * 96;

    private static GemmKernelWidth _width = Detect();

    /// <summary>The kernel in use: the widest the CPU runs well, or <c>LOOM_GEMM_WIDTH</c>=512|256|portable.</summary>
    public static GemmKernelWidth Width
    {
        get => _width;
        set
        {
            if (!Supported(value)) throw new LoomException($"gemm: kernel {value} is not supported on this CPU");
            _width = value;
        }
    }

    public static bool Supported(GemmKernelWidth w) => w switch
    {
        GemmKernelWidth.Vector512 => Avx512F.IsSupported,
        GemmKernelWidth.Vector256 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    private static GemmKernelWidth Detect()
    {
        var env = Environment.GetEnvironmentVariable("LOOM_GEMM_WIDTH");
        GemmKernelWidth? asked = env switch
        {
            "512" => GemmKernelWidth.Vector512,
            "256" => GemmKernelWidth.Vector256,
            "portable" => GemmKernelWidth.Portable,
            _ => null,
        };
        if (asked is { } w && Supported(w)) return w;
        // AVX-512F whenever present, also where Vector512.IsHardwareAccelerated is false (Intel): measured faster
        // than the 256-bit kernel there and here (docs/performance.md).
        if (Supported(GemmKernelWidth.Vector512)) return GemmKernelWidth.Vector512;
        if (Supported(GemmKernelWidth.Vector256)) return GemmKernelWidth.Vector256;
        return GemmKernelWidth.Portable;
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C; sizes and spans already checked; m, n ≥ 1.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, GemmKernelWidth width)
    {
        var p = new Problem(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (width == GemmKernelWidth.Vector512) Driver<Kernel512>.Run(p);
        else Driver<Kernel256>.Run(p);
    }

    /// <summary>One GEMM call's operands; a sub-problem is the same record with moved pointers and smaller sizes.</summary>
    internal readonly struct Problem(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        public readonly bool TransA = transA, TransB = transB;
        public readonly int M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc;
        public readonly float Alpha = alpha, Beta = beta;
        public readonly float* A = a, B = b, C = c;

        /// <summary>op(A)[i, p]</summary>
        public float* AAt(int i, int p) => TransA ? A + (nint)p * Lda + i : A + (nint)i * Lda + p;

        /// <summary>op(B)[p, j]</summary>
        public float* BAt(int p, int j) => TransB ? B + (nint)j * Ldb + p : B + (nint)p * Ldb + j;

        /// <summary>Rows [i0, i1) and columns [j0, j1) of C.</summary>
        public Problem Sub(int i0, int i1, int j0, int j1) =>
            new(TransA, TransB, i1 - i0, j1 - j0, K, Alpha, AAt(i0, 0), Lda, BAt(0, j0), Ldb, Beta, C + (nint)i0 * Ldc + j0, Ldc);
    }

    private static class Driver<TK> where TK : struct, IGemmKernel
    {
        public static void Run(Problem p)
        {
            var threads = Threads.Count;
            if (threads == 1 || (long)p.M * p.N * p.K < ParallelWork)
            {
                Block(p);
                return;
            }
            var tilesN = (p.N + TK.NR - 1) / TK.NR;
            var tilesM = (p.M + TK.MR - 1) / TK.MR;
            // Split columns when there are enough column tiles: each thread then packs only its own part of B.
            var byN = tilesN >= 2 * threads || tilesN >= tilesM;
            var tiles = byN ? tilesN : tilesM;
            var parts = Math.Min(threads, tiles);
            if (parts == 1)
            {
                Block(p);
                return;
            }
            Threads.For(parts, part =>
            {
                var (t0, t1) = Threads.Range(tiles, parts, part);
                var sub = byN
                    ? p.Sub(0, p.M, t0 * TK.NR, Math.Min(p.N, t1 * TK.NR))
                    : p.Sub(t0 * TK.MR, Math.Min(p.M, t1 * TK.MR), 0, p.N);
                Block(sub);
            });
        }

        /// <summary>The whole blocked loop nest on one thread.</summary>
        [SkipLocalsInit]
        private static void Block(Problem p)
        {
            int mr = TK.MR, nr = TK.NR;
            var buf = GemmBuffers.Get(mr * KC, KC * NC);
            var tile = stackalloc float[mr * nr];
            // With one row sliver, B is read once: skip packing it and read op(B)'s rows where they are.
            var directB = !p.TransB && p.M <= mr;
            for (var jc = 0; jc < p.N; jc += NC)
            {
                var nc = Math.Min(NC, p.N - jc);
                var full = nc - nc % nr;
                for (var pc = 0; pc < p.K; pc += KC)
                {
                    var kc = Math.Min(KC, p.K - pc);
                    var beta = pc == 0 ? p.Beta : 1f;
                    if (!directB) GemmPack.B(buf.B, nr, kc, nc, p.BAt(pc, jc), p.Ldb, p.TransB);
                    else if (full < nc) GemmPack.B(buf.B, nr, kc, nc - full, p.BAt(pc, jc + full), p.Ldb, false);
                    for (var ir = 0; ir < p.M; ir += mr)
                    {
                        var rows = Math.Min(mr, p.M - ir);
                        GemmPack.A(buf.A, mr, rows, kc, p.AAt(ir, pc), p.Lda, p.TransA);
                        var cRow = p.C + (nint)ir * p.Ldc + jc;
                        for (var jr = 0; jr < nc; jr += nr)
                        {
                            float* bs;
                            nint bStride = nr;
                            if (!directB) bs = buf.B + (nint)jr * kc;
                            else if (jr < full)
                            {
                                bs = p.BAt(pc, jc + jr);
                                bStride = p.Ldb;
                            }
                            else bs = buf.B;
                            if (jr < full) TK.Tile(rows, kc, buf.A, bs, bStride, cRow + jr, p.Ldc, p.Alpha, beta);
                            else Edge(rows, nc - jr, kc, buf.A, bs, tile, cRow + jr, p.Ldc, p.Alpha, beta);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// A tile narrower than NR: the kernel writes its raw sums to a scratch tile, then they are merged with the
        /// same rounding as the kernel's own merge (alpha·acc, or fma(acc, alpha, beta·C)).
        /// </summary>
        private static void Edge(int rows, int cols, int kc, float* a, float* b, float* tile, float* c, int ldc, float alpha, float beta)
        {
            TK.Tile(rows, kc, a, b, TK.NR, tile, TK.NR, 1f, 0f);
            for (var i = 0; i < rows; i++)
            {
                var t = tile + i * TK.NR;
                var ci = c + (nint)i * ldc;
                if (beta == 0f)
                {
                    for (var j = 0; j < cols; j++) ci[j] = alpha * t[j];
                }
                else
                {
                    for (var j = 0; j < cols; j++) ci[j] = MathF.FusedMultiplyAdd(t[j], alpha, beta * ci[j]);
                }
            }
        }
    }
}

/// <summary>
/// Per-thread packing buffers, pinned (on the pinned object heap) and 64-byte aligned, kept for the thread's
/// lifetime so that a GEMM call allocates nothing once a thread has run one.
/// </summary>
internal sealed unsafe class GemmBuffers
{
    [ThreadStatic]
    private static GemmBuffers? _current;

    private float[] _aStore = [];
    private float[] _bStore = [];

    public float* A { get; private set; }

    public float* B { get; private set; }

    public static GemmBuffers Get(int aLength, int bLength)
    {
        var buf = _current ??= new GemmBuffers();
        if (buf._aStore.Length < aLength + 16) buf.A = Alloc(aLength, out buf._aStore);
        if (buf._bStore.Length < bLength + 16) buf.B = Alloc(bLength, out buf._bStore);
        return buf;
    }

    private static float* Alloc(int length, out float[] store)
    {
        store = GC.AllocateUninitializedArray<float>(length + 16, pinned: true);
        var p = (nint)Unsafe.AsPointer(ref store[0]);
        return (float*)((p + 63) & ~(nint)63);
    }
}
