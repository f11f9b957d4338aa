using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// Implicit-GEMM convolution products: the GEMM's panels of the column matrix are packed straight from the image
/// (<see cref="ImageColumns"/>, one stretch of a row at a time, in L1) instead of from an im2col matrix written to
/// memory first and read back by the packing. The loop nest, k slices (<see cref="GemmF32.SliceDepth"/>) and
/// micro-kernel are <see cref="GemmF32"/>'s, so each element of C is the same sum in the same order as the explicit
/// path's GEMM of the same sizes. Single-threaded: the conv kernels split the batch over threads.
/// <list type="bullet">
/// <item><see cref="Columns"/>: C [M, N] = A · cols with A packed once per call (<see cref="PackA"/>): the forward.</item>
/// <item><see cref="ColumnsTimesTransposed"/>: C [R, F] = cols · Gᵀ + beta·C over the positions: ∂Wᵀ.</item>
/// </list>
/// </summary>
internal static unsafe partial class GemmImplicit
{
    /// <summary>
    /// Columns of the column matrix packed per block (kc × NC floats: 288 × 256 = 288 KiB for W6, in L2 next to the
    /// C block). <c>LOOM_IMPLICIT_NC</c> overrides it for tuning; rounded to whole tiles.
    /// </summary>
    public static readonly int NC =
        int.TryParse(Environment.GetEnvironmentVariable("LOOM_IMPLICIT_NC"), out var v) && v is >= 1 and <= 4096 ? (v + 31) / 32 * 32 : 256;

    /// <summary>Whether the float32 micro-kernels run here (the implicit path needs one).</summary>
    public static bool Available => GemmF32.Width != GemmKernelWidth.Portable;

    /// <summary>Rows per sliver of the kernel in use.</summary>
    public static int MR => Pick(GemmF32.Width) switch
    {
        0 => Kernel512.MR,
        1 => Kernel256Wide.MR,
        _ => Kernel256.MR,
    };

    /// <summary>Columns per tile of the kernel in use.</summary>
    public static int NR => Pick(GemmF32.Width) switch
    {
        0 => Kernel512.NR,
        1 => Kernel256Wide.NR,
        _ => Kernel256.NR,
    };

    /// <summary>Floats of <see cref="PackA"/>'s result for an M × K matrix (and slack for the packing's spill).</summary>
    public static int PackedASize(int m, int k) => ((m + MR - 1) / MR * MR * k) + 16;

    /// <summary>
    /// Packs A [M, K] (row-major, rows <paramref name="lda"/> apart) once for every <see cref="Columns"/> call of a
    /// conv: slice by slice (slice at k offset pc starts at pc·M′, M′ = M rounded up to slivers), MR-row slivers of
    /// kc·MR floats within a slice. The explicit path packed the weight again for every band and every image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void PackA(float* a, int m, int k, int lda, float* dst)
    {
        var mr = MR;
        var mPad = (m + mr - 1) / mr * mr;
        var depth = GemmF32.SliceDepth(k);
        for (var pc = 0; pc < k; pc += depth)
        {
            var kc = Math.Min(depth, k - pc);
            for (var ir = 0; ir < m; ir += mr)
                GemmPack.A(dst + ((nint)pc * mPad) + ((nint)ir * kc), mr, Math.Min(mr, m - ir), kc, a + ((nint)ir * lda) + pc, lda, false);
        }
    }

    /// <summary>C [M, N] (rows <paramref name="ldc"/> apart) = A · cols[:, 0 .. N), A packed by <see cref="PackA"/> (K = cols.RowCount).</summary>
    public static void Columns(float* packedA, int m, in ImageColumns cols, int n, float* c, int ldc)
    {
        switch (Pick(GemmF32.Width))
        {
            case 0: Driver<Kernel512>.Columns(packedA, m, cols, n, c, ldc); break;
            case 1: Driver<Kernel256Wide>.Columns(packedA, m, cols, n, c, ldc); break;
            default: Driver<Kernel256>.Columns(packedA, m, cols, n, c, ldc); break;
        }
    }

    /// <summary>
    /// C [R, F] (rows <paramref name="ldc"/> apart) = cols[:, 0 .. K) · Gᵀ + beta·C with G [F, K] (rows
    /// <paramref name="ldg"/> apart), R = cols.RowCount: the transposed weight gradient of K positions.
    /// </summary>
    public static void ColumnsTimesTransposed(in ImageColumns cols, int k, float* g, int ldg, int f, float beta, float* c, int ldc)
    {
        switch (Pick(GemmF32.Width))
        {
            case 0: Driver<Kernel512>.ColumnsTimesTransposed(cols, k, g, ldg, f, beta, c, ldc); break;
            case 1: Driver<Kernel256Wide>.ColumnsTimesTransposed(cols, k, g, ldg, f, beta, c, ldc); break;
            default: Driver<Kernel256>.ColumnsTimesTransposed(cols, k, g, ldg, f, beta, c, ldc); break;
        }
    }

    // The kernel GemmF32.Run picks for the width: 0 = Kernel512, 1 = Kernel256Wide, 2 = Kernel256.
    private static int Pick(GemmKernelWidth width) =>
        width == GemmKernelWidth.Vector512 ? 0 : Avx512F.VL.IsSupported && !GemmF32.Narrow256 ? 1 : 2;

    // ⌈n / max⌉ equal blocks covering n, rounded up to whole units (GemmF32's rule).
    private static int Even(int n, int max, int unit)
    {
        var blocks = (n + max - 1) / max;
        return ((n + blocks - 1) / blocks + unit - 1) / unit * unit;
    }

    /// <summary>Rows of the column matrix unrolled into L1 at a time by the forward's packing (8 × 256 floats = 8 KiB).</summary>
    private const int Group = 8;

    private static class Driver<TK> where TK : struct, IGemmKernel
    {
        [SkipLocalsInit]
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Columns(float* packedA, int m, in ImageColumns cols, int n, float* c, int ldc)
        {
            int mr = TK.MR, nr = TK.NR, k = cols.RowCount;
            var mPad = (m + mr - 1) / mr * mr;
            var ncMax = Even(n, NC, nr);
            var depth = GemmF32.SliceDepth(k);
            var buf = ImplicitBuffers.Get(depth * ncMax, Group * ncMax);
            var tile = stackalloc float[mr * nr];
            for (var jc = 0; jc < n; jc += ncMax)
            {
                // All k slices of one column block in turn: its C block (M × nc) stays in cache between them.
                var nc = Math.Min(ncMax, n - jc);
                for (var pc = 0; pc < k; pc += depth)
                {
                    var kc = Math.Min(depth, k - pc);
                    var beta = pc == 0 ? 0f : 1f;
                    PackColumns(buf.Panel, nr, kc, nc, cols, pc, jc, buf.Row);
                    PanelProduct(packedA + ((nint)pc * mPad), m, kc, buf.Panel, nc, c + jc, ldc, beta, tile);
                }
            }
        }

        [SkipLocalsInit]
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void ColumnsTimesTransposed(in ImageColumns cols, int k, float* g, int ldg, int f, float beta0, float* c, int ldc)
        {
            int mr = TK.MR, nr = TK.NR, r = cols.RowCount;
            var fPad = (f + nr - 1) / nr * nr;
            var depth = GemmF32.SliceDepth(k);
            var buf = ImplicitBuffers.Get(depth * fPad, mr * depth, mr * depth);
            var tile = stackalloc float[mr * nr];
            for (var pc = 0; pc < k; pc += depth)
            {
                var kc = Math.Min(depth, k - pc);
                var beta = pc == 0 ? beta0 : 1f;
                // op(B)[p, j] = G[j, pc + p]: Gᵀ's slice, F columns (W6: two slivers).
                GemmPack.B(buf.Panel, nr, kc, f, g + pc, ldg, true);
                for (var ir = 0; ir < r; ir += mr)
                {
                    // One sliver of the column matrix: its rows unrolled into L1, then transposed into k-major order.
                    var rows = Math.Min(mr, r - ir);
                    cols.Rows(ir, rows, pc, kc, buf.Row, kc);
                    GemmPack.A(buf.Sliver, mr, rows, kc, buf.Row, kc, false);
                    var cRow = c + ((nint)ir * ldc);
                    for (var jr = 0; jr < f; jr += nr)
                    {
                        var b = buf.Panel + ((nint)jr * kc);
                        if (jr + nr <= f) TK.Tile(rows, kc, buf.Sliver, b, nr, cRow + jr, ldc, 1f, beta);
                        else Edge(rows, f - jr, kc, buf.Sliver, b, tile, cRow + jr, ldc, beta);
                    }
                }
            }
        }

        /// <summary>
        /// The kc × nc block of the column matrix at (pc, jc) → slivers of nr columns (sliver s at dst + s·kc·nr,
        /// element [p, j] at p·nr + j; the last sliver zero-padded): each row stretch is unrolled into
        /// <paramref name="row"/> (L1) and dealt out, as <see cref="GemmPack.B"/> deals out a stored matrix's rows.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PackColumns(float* dst, int nr, int kc, int nc, in ImageColumns cols, int pc, int jc, float* row)
        {
            for (var p0 = 0; p0 < kc; p0 += Group)
            {
                // Unroll a few rows' stretches into L1 at once, then deal each row out to the slivers.
                var group = Math.Min(Group, kc - p0);
                cols.Rows(pc + p0, group, jc, nc, row, nc);
                for (var p = p0; p < p0 + group; p++)
                    GemmPack.BRow(row + ((nint)(p - p0) * nc), dst + ((nint)p * nr), nr, kc, nc);
            }
        }

        /// <summary>
        /// C [m × nc] (leading dimension ldc) = beta·C + A's packed k slice (kc deep, MR-row slivers) · the packed panel
        /// (kc × nc in NR-column slivers): the micro-kernel over every tile, edge tiles through <see cref="Edge"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void PanelProduct(float* slice, int m, int kc, float* panel, int nc, float* c, int ldc, float beta, float* tile)
        {
            int mr = TK.MR, nr = TK.NR;
            for (var ir = 0; ir < m; ir += mr)
            {
                var rows = Math.Min(mr, m - ir);
                var a = slice + ((nint)ir * kc);
                var cRow = c + ((nint)ir * ldc);
                for (var jr = 0; jr < nc; jr += nr)
                {
                    var b = panel + ((nint)jr * kc);
                    if (jr + nr <= nc) TK.Tile(rows, kc, a, b, nr, cRow + jr, ldc, 1f, beta);
                    else Edge(rows, nc - jr, kc, a, b, tile, cRow + jr, ldc, beta);
                }
            }
        }

        /// <summary>A tile narrower than NR, merged with the kernel's own rounding (as GemmF32's edge tiles; alpha = 1).</summary>
        internal static void Edge(int rows, int cols, int kc, float* a, float* b, float* tile, float* c, int ldc, float beta)
        {
            TK.Tile(rows, kc, a, b, TK.NR, tile, TK.NR, 1f, 0f);
            MergeEdge(rows, cols, tile, c, ldc, beta);
        }

        /// <summary>C ← tile + beta·C over rows × cols of a full-width scratch tile (the edge tiles' merge).</summary>
        internal static void MergeEdge(int rows, int cols, float* tile, float* c, int ldc, float beta)
        {
            for (var i = 0; i < rows; i++)
            {
                var t = tile + (i * TK.NR);
                var ci = c + ((nint)i * ldc);
                if (beta == 0f)
                {
                    for (var j = 0; j < cols; j++) ci[j] = 1f * t[j];
                }
                else
                {
                    for (var j = 0; j < cols; j++) ci[j] = MathF.FusedMultiplyAdd(t[j], 1f, beta * ci[j]);
                }
            }
        }
    }
}

/// <summary>Per-thread pinned, 64-byte aligned scratch of the implicit GEMM (packed panel, A sliver, unrolled rows), kept for the thread's lifetime.</summary>
internal sealed unsafe class ImplicitBuffers
{
    // GemmBuffers' slack: 16 floats for the alignment + 64 past the end (the packing may spill up to 8 past a sliver).
    private const int Slack = GemmBuffers.Slack;

    [ThreadStatic]
    private static ImplicitBuffers? _current;

    private float[] _panel = [], _sliver = [], _row = [];

    public float* Panel { get; private set; }

    public float* Sliver { get; private set; }

    public float* Row { get; private set; }

    public static ImplicitBuffers Get(int panel, int row, int sliver = 0)
    {
        var buf = _current ??= new ImplicitBuffers();
        if (buf._panel.Length < panel + Slack) buf.Panel = GemmBuffers.Alloc(panel, out buf._panel);
        if (buf._row.Length < row + Slack) buf.Row = GemmBuffers.Alloc(row, out buf._row);
        if (buf._sliver.Length < sliver + Slack) buf.Sliver = GemmBuffers.Alloc(sliver, out buf._sliver);
        return buf;
    }
}
