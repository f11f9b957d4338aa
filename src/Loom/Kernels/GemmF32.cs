using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>Which SGEMM micro-kernel runs.</summary>
public enum GemmKernelWidth
{
    /// <summary>Plain vectorised row loop, for machines without AVX2 + FMA.</summary>
    Portable,

    /// <summary>Vector256 (AVX2 + FMA): 12×16 tiles where AVX-512VL gives 32 registers, else 6×16.</summary>
    Vector256,

    /// <summary>Vector512 (AVX-512F), 14×32 tiles.</summary>
    Vector512,
}

/// <summary>
/// Single-precision GEMM, GotoBLAS/BLIS style. For each KC-deep slice of k, up to MC rows of op(A) are packed into
/// MR-row slivers (k-major); for each NC-wide column block, the kc×nc block of op(B) is packed into NR-column
/// slivers; then each A sliver (in L1) meets every B sliver of the block in the register-blocked micro-kernel
/// (<see cref="IGemmKernel"/>); a small op(A) or op(B) is read in place instead of packed. Work is split over threads
/// by fixed column ranges aligned to tiles and even row ranges, never over k, so each element's summation order is the
/// same for any schedule.
/// </summary>
internal static unsafe class GemmF32
{
    /// <summary>Depth of a packed slice: an A sliver (MR·KC floats, 21 KiB for 14 rows) stays in L1.</summary>
    public static readonly int KC = Knob("LOOM_GEMM_KC", 384);

    /// <summary>
    /// Width of a packed B block (KC·NC floats = 1.5 MiB, streamed from L2/L3). Measured on Zen 4: 1024 beats 512
    /// (B in L2) by a few percent, because each A sliver is then loaded once per slice instead of twice.
    /// </summary>
    public static readonly int NC = Knob("LOOM_GEMM_NC", 1024);

    /// <summary>Rows of op(A) packed at once (MC·KC floats, in L3); B is packed again for every MC rows.</summary>
    public static readonly int MC = Knob("LOOM_GEMM_MC", 1024);

    /// <summary>Largest op(B) (in floats) that is read in place rather than packed, when it is not transposed.</summary>
    public const long DirectB = 1 << 16;

    /// <summary>Widest product whose A is read in place rather than packed (when not transposed; LOOM_GEMM_DIRECTA=0 never).</summary>
    public static readonly int DirectAColumns =
        int.TryParse(Environment.GetEnvironmentVariable("LOOM_GEMM_DIRECTA"), out var v) && v >= 0 ? v : 256;

    /// <summary>
    /// The depth of the k slices: equal slices of at most KC (k = 512 → 2 × 256, not 384 + 128), the same for
    /// every part and path, so that each element of C is summed in the same groups.
    /// </summary>
    public static int SliceDepth(int k)
    {
        var slices = (k + KC - 1) / KC;
        return (k + slices - 1) / slices;
    }

    /// <summary>
    /// The size of ⌈n / max⌉ equal blocks that cover n, rounded up to a multiple of <paramref name="unit"/> (so it
    /// may pass max by less than a unit; the packing buffers are sized from it).
    /// </summary>
    private static int Even(int n, int max, int unit)
    {
        var blocks = (n + max - 1) / max;
        return ((n + blocks - 1) / blocks + unit - 1) / unit * unit;
    }

    // Block sizes can be overridden for tuning on another CPU (LOOM_GEMM_KC=… etc.); rounded up to whole tiles.
    private static int Knob(string name, int value) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v is >= 1 and <= 1 << 16 ? (v + 31) / 32 * 32 : value;

    /// <summary>
    /// Below this many multiply-adds a single thread does the work (dispatch costs more than it saves);
    /// <c>LOOM_GEMM_PARALLEL_WORK</c> overrides it.
    /// </summary>
    /// <remarks>
    /// Measured on Zen 4 (2 cores, loaded machine, best chunks) with the allocation-free <see cref="GemmTeam"/> hand-off:
    /// 48³ 3.2 µs on two threads against 3.9 on one, 64³ 3.8 against 4.8; at 40³ a wash (2.4 vs 2.5 µs), 32×64·64×48
    /// and 32³ slower on two (1.9 vs 1.8, 0.74 vs 0.68 µs). (With the earlier team, 64³ took 8.8 µs on two threads.)
    /// </remarks>
    public static readonly long ParallelWork =
        long.TryParse(Environment.GetEnvironmentVariable("LOOM_GEMM_PARALLEL_WORK"), out var w) && w >= 0 ? w : 48L * 48 * 48;

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

    /// <summary>Use the 16-register 6×16 Vector256 kernel even where AVX-512VL has 32 registers (tests cover it so).</summary>
    internal static bool Narrow256 { get; set; }

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

    /// <summary>The kernel in words, e.g. "Vector512 14×32 tiles, KC=384 NC=1024 MC=1024" (the bench prints it).</summary>
    public static string Describe()
    {
        var (mr, nr) = Width switch
        {
            GemmKernelWidth.Vector512 => (Kernel512.MR, Kernel512.NR),
            GemmKernelWidth.Vector256 when Avx512F.VL.IsSupported && !Narrow256 => (Kernel256Wide.MR, Kernel256Wide.NR),
            GemmKernelWidth.Vector256 => (Kernel256.MR, Kernel256.NR),
            _ => (0, 0),
        };
        return mr == 0 ? "Portable row loop" : $"{Width} {mr}×{nr} tiles, KC={KC} NC={NC} MC={MC}";
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C; sizes and spans already checked; m, n ≥ 1.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, GemmKernelWidth width)
    {
        var p = new Problem(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (width == GemmKernelWidth.Vector512) Driver<Kernel512>.Run(p);
        else if (Avx512F.VL.IsSupported && !Narrow256) Driver<Kernel256Wide>.Run(p);
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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(Problem p)
        {
            var threads = Threads.Count;
            if (threads == 1 || (long)p.M * p.N * p.K < ParallelWork || GemmTeam.InPart)
            {
                Block(p);
                return;
            }
            var tilesN = (p.N + TK.NR - 1) / TK.NR;
            // One part per thread: two per thread (so an idle thread could take over a preempted one's part) was
            // no faster on the busy 2-core machine, and slower for small products (n = 256: best 183 vs 211 GFLOP/s).
            var (pm, pn) = Grid(tilesN, threads, p);
            if (pm * pn == 1)
            {
                Block(p);
                return;
            }
            var split = Split.Mine ??= new Split();
            split.Set(p, tilesN, pm, pn);
            GemmTeam.For(pm * pn, split);
        }

        /// <summary>
        /// Splits C into a pm × pn grid of parts (pm·pn = <paramref name="target"/> where the sizes allow): rows into
        /// pm even ranges (a part's last sliver may be short: the kernels run any row count at the same speed per
        /// row), columns into pn ranges of whole NR-wide tiles (a split tile would need the scratch-tile edge path).
        /// The grid whose largest part has the fewest elements wins; on a tie, the one that packs the least (each
        /// part packs its own rows of A unless A is read in place, and its columns of B unless B is); when neither
        /// is packed (small products: 64×64·64×64 on two threads), the row split, whose parts share at most one
        /// cache line of C where a column split's share up to one per row. Depends only on sizes and thread count.
        /// </summary>
        private static (int Pm, int Pn) Grid(int tilesN, int target, Problem p)
        {
            var packA = !DirectlyReadA(p);
            var packB = !DirectlyReadB(p);
            for (; target > 1; target--)
            {
                (int, int) best = (0, 0);
                long bestSpan = long.MaxValue, bestPacked = long.MaxValue;
                for (var pn = Math.Min(target, tilesN); pn >= 1; pn--)
                {
                    var pm = target / pn;
                    if (pm * pn != target || pm > p.M) continue;
                    var span = (long)((p.M + pm - 1) / pm) * Math.Min(p.N, (tilesN + pn - 1) / pn * TK.NR);
                    var packed = (packA ? (long)pn * p.M * p.K : 0) + (packB ? (long)pm * p.K * p.N : 0);
                    if (span < bestSpan || (span == bestSpan && (packed < bestPacked || packed == 0)))
                        (best, bestSpan, bestPacked) = ((pm, pn), span, packed);
                }
                if (best.Item1 > 0) return best;
            }
            return (1, 1);
        }

        /// <summary>
        /// The parts of one split product. One instance per calling thread, reused (no closure or allocation per
        /// call: a 64³ product on two threads takes ~3 µs); only that thread's <see cref="GemmTeam.For(int, ITeamWork)"/> reads it.
        /// </summary>
        private sealed class Split : ITeamWork
        {
            [ThreadStatic]
            public static Split? Mine;

            private Problem _p;
            private int _tilesN, _pm, _pn;

            public void Set(Problem p, int tilesN, int pm, int pn) => (_p, _tilesN, _pm, _pn) = (p, tilesN, pm, pn);

            public void Run(int part)
            {
                var (i0, i1) = Threads.Range(_p.M, _pm, part / _pn);
                var (j0, j1) = Threads.Range(_tilesN, _pn, part % _pn);
                Block(_p.Sub(i0, i1, j0 * TK.NR, Math.Min(_p.N, j1 * TK.NR)));
            }
        }

        /// <summary>
        /// Whether <see cref="Block"/> reads op(B)'s rows where they are instead of packing them: when B is read only
        /// once (one row sliver), or when it is small enough (≤ 256 KiB) to stay in L2 anyway: packing then costs more
        /// than it saves (64×64×64: 5.4 µs instead of 8.3).
        /// </summary>
        private static bool DirectlyReadB(Problem p) => !p.TransB && (p.M <= TK.MR || (long)p.K * p.N <= DirectB);

        /// <summary>
        /// Whether <see cref="Block"/> reads op(A) = A's rows in place instead of packing them (512-bit kernel only):
        /// when C is at most <see cref="DirectAColumns"/> wide, each A sliver meets at most 8 B slivers and packing
        /// it cost more than the strided reads (1 thread, Zen 4: 64³ 4.8 vs 5.25 µs, 196×64·64×288 63 vs 70 µs,
        /// 256³ 293 vs 303 µs). Not when rows are a multiple of 4 KiB apart: the 14 rows of a tile then fall into
        /// one L1 set (256×256·1024: 1560 vs 1260 µs; 1024³: 26 vs 21 ms).
        /// </summary>
        private static bool DirectlyReadA(Problem p) => TK.RowsA && !p.TransA && p.N <= DirectAColumns && p.Lda % 1024 != 0;

        /// <summary>The whole blocked loop nest on one thread.</summary>
        [SkipLocalsInit]
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Block(Problem p)
        {
            if (p.M == 1 && !p.TransB && (long)p.K * p.N >= GemmSmallM.MinWork)
            {
                GemmSmallM.Run(p);
                return;
            }
            int mr = TK.MR, nr = TK.NR;
            // Equal blocks of whole slivers: m = 1024 is one row block, not 1022 + 2 rows with B packed twice.
            var mcMax = Even(p.M, MC, mr);
            var ncMax = Even(p.N, NC, nr);
            var buf = GemmBuffers.Get(mcMax * KC, KC * ncMax);
            var tile = stackalloc float[mr * nr];
            var directB = DirectlyReadB(p);
            var directA = DirectlyReadA(p);
            var depth = SliceDepth(p.K);
            for (var pc = 0; pc < p.K; pc += depth)
            {
                var kc = Math.Min(depth, p.K - pc);
                var beta = pc == 0 ? p.Beta : 1f;
                for (var ic = 0; ic < p.M; ic += mcMax)
                {
                    var mc = Math.Min(mcMax, p.M - ic);
                    // Slivers of even height (16 rows: 8 + 8, not 14 + 2, whose 4 accumulators per k cannot keep
                    // the FMA units busy); sliver s is packed at s·MR·kc.
                    var slivers = (mc + mr - 1) / mr;
                    for (var sl = 0; sl < slivers && !directA; sl++)
                    {
                        var (r0, r1) = Threads.Range(mc, slivers, sl);
                        GemmPack.A(buf.A + (nint)sl * mr * kc, mr, r1 - r0, kc, p.AAt(ic + r0, pc), p.Lda, p.TransA);
                    }
                    for (var jc = 0; jc < p.N; jc += ncMax)
                    {
                        var nc = Math.Min(ncMax, p.N - jc);
                        var full = nc - nc % nr;
                        if (!directB) GemmPack.B(buf.B, nr, kc, nc, p.BAt(pc, jc), p.Ldb, p.TransB);
                        else if (full < nc) GemmPack.B(buf.B, nr, kc, nc - full, p.BAt(pc, jc + full), p.Ldb, false);
                        for (var sl = 0; sl < slivers; sl++)
                        {
                            var (r0, r1) = Threads.Range(mc, slivers, sl);
                            var rows = r1 - r0;
                            // lda = 0: the packed sliver; else A's rows in place.
                            var a = directA ? p.AAt(ic + r0, pc) : buf.A + (nint)sl * mr * kc;
                            nint lda = directA ? p.Lda : 0;
                            var cRow = p.C + (nint)(ic + r0) * p.Ldc + jc;
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
                                if (jr < full) Tile(rows, kc, a, lda, bs, bStride, cRow + jr, p.Ldc, p.Alpha, beta);
                                else Edge(rows, nc - jr, kc, a, lda, bs, tile, cRow + jr, p.Ldc, p.Alpha, beta);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>One tile: A packed (lda = 0) or read in place.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Tile(int rows, int kc, float* a, nint lda, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
        {
            if (lda == 0) TK.Tile(rows, kc, a, b, bStride, c, ldc, alpha, beta);
            else TK.TileRowsA(rows, kc, a, lda, b, bStride, c, ldc, alpha, beta);
        }

        /// <summary>
        /// A tile narrower than NR: the kernel writes its raw sums to a scratch tile, then they are merged with the
        /// same rounding as the kernel's own merge (alpha·acc, or fma(acc, alpha, beta·C)).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Edge(int rows, int cols, int kc, float* a, nint lda, float* b, float* tile, float* c, int ldc, float alpha, float beta)
        {
            Tile(rows, kc, a, lda, b, TK.NR, tile, TK.NR, 1f, 0f);
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
    // 16 floats for the 64-byte alignment + 64 past the end: packing may spill up to 8 floats past a sliver.
    /// <summary>Floats beyond the asked length: room to align to 64 bytes and for the kernels' over-reads.</summary>
    internal const int Slack = 80;

    [ThreadStatic]
    private static GemmBuffers? _current;

    private float[] _aStore = [];
    private float[] _bStore = [];

    public float* A { get; private set; }

    public float* B { get; private set; }

    public static GemmBuffers Get(int aLength, int bLength)
    {
        var buf = _current ??= new GemmBuffers();
        if (buf._aStore.Length < aLength + Slack) buf.A = Alloc(aLength, out buf._aStore);
        if (buf._bStore.Length < bLength + Slack) buf.B = Alloc(bLength, out buf._bStore);
        return buf;
    }

    /// <summary>A pinned array of length + <see cref="Slack"/> floats and its first 64-byte aligned address.</summary>
    internal static float* Alloc(int length, out float[] store)
    {
        store = GC.AllocateUninitializedArray<float>(length + Slack, pinned: true);
        var p = (nint)Unsafe.AsPointer(ref store[0]);
        return (float*)((p + 63) & ~(nint)63);
    }
}
