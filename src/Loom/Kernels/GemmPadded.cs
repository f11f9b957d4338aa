using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>The stride-1 implicit GEMM over padded images (<see cref="PaddedImages"/>).</summary>
internal static unsafe partial class GemmImplicit
{
    /// <summary>
    /// y = A · cols for <paramref name="count"/> padded images, A [M, K] packed by <see cref="PackA"/>: the GEMM runs
    /// over the padded-width columns (outH·Wp per image) into a block in cache, and each block's real columns are
    /// copied out: image i's position (oh, ow) to y[f·ldy + i·P + oh·outW + ow] (P = outH·outW).
    /// </summary>
    public static void PaddedColumns(float* packedA, int m, in PaddedImages src, int count, float* y, int ldy)
    {
        switch (Pick(GemmF32.Width))
        {
            case 0: Padded<Kernel512>.Columns(packedA, m, src, count, y, ldy); break;
            case 1: Padded<Kernel256Wide>.Columns(packedA, m, src, count, y, ldy); break;
            default: Padded<Kernel256>.Columns(packedA, m, src, count, y, ldy); break;
        }
    }

    /// <summary>
    /// C [R, F] (rows <paramref name="ldc"/> apart) = cols · Gᵀ + beta·C over the real positions of
    /// <paramref name="count"/> padded images (K = count·outH·outW, image i's position q at column i·P + q of G [F, K],
    /// rows <paramref name="ldg"/> apart), R = src.RowCount: <see cref="ColumnsTimesTransposed"/> with each sliver of
    /// the column matrix packed straight from the padded images (no unrolling into L1 first). The packed sliver holds
    /// the same numbers as there, so C gets the same bits.
    /// </summary>
    public static void PaddedColumnsTimesTransposed(in PaddedImages src, int count, float* g, int ldg, int f, float beta, float* c, int ldc)
    {
        switch (Pick(GemmF32.Width))
        {
            case 0: Padded<Kernel512>.ColumnsTimesTransposed(src, count, g, ldg, f, beta, c, ldc); break;
            case 1: Padded<Kernel256Wide>.ColumnsTimesTransposed(src, count, g, ldg, f, beta, c, ldc); break;
            default: Padded<Kernel256>.ColumnsTimesTransposed(src, count, g, ldg, f, beta, c, ldc); break;
        }
    }

    private static class Padded<TK> where TK : struct, IGemmKernel
    {
        [SkipLocalsInit]
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void ColumnsTimesTransposed(in PaddedImages src, int count, float* g, int ldg, int f, float beta0, float* c, int ldc)
        {
            int mr = TK.MR, nr = TK.NR, r = src.RowCount;
            var k = count * src.Patch.Columns;
            var fPad = (f + nr - 1) / nr * nr;
            var depth = GemmF32.SliceDepth(k);
            var buf = ImplicitBuffers.Get(depth * fPad, 0, mr * depth);
            var tile = stackalloc float[mr * nr];
            var rows = stackalloc float*[mr];
            for (var pc = 0; pc < k; pc += depth)
            {
                var kc = Math.Min(depth, k - pc);
                var beta = pc == 0 ? beta0 : 1f;
                // op(B)[p, j] = G[j, pc + p]: Gᵀ's slice, F columns (W6: two slivers).
                GemmPack.B(buf.Panel, nr, kc, f, g + pc, ldg, true);
                for (var ir = 0; ir < r; ir += mr)
                {
                    var height = Math.Min(mr, r - ir);
                    PackSliver(buf.Sliver, mr, height, ir, pc, kc, src, rows);
                    var cRow = c + ((nint)ir * ldc);
                    for (var jr = 0; jr < f; jr += nr)
                    {
                        var b = buf.Panel + ((nint)jr * kc);
                        if (TK.RowsA && jr + nr <= f) TK.TileRowsA(height, kc, buf.Sliver, kc, b, nr, cRow + jr, ldc, 1f, beta);
                        else if (TK.RowsA) EdgeRowsA(height, f - jr, kc, buf.Sliver, b, tile, cRow + jr, ldc, beta);
                        else if (jr + nr <= f) TK.Tile(height, kc, buf.Sliver, b, nr, cRow + jr, ldc, 1f, beta);
                        else Driver<TK>.Edge(height, f - jr, kc, buf.Sliver, b, tile, cRow + jr, ldc, beta);
                    }
                }
            }
        }

        /// <summary>
        /// Rows [r0, r0 + height) of the column matrix, real positions [pc, pc + kc) → the sliver's A: the positions
        /// are walked a run within one output row at a time, where each row is a contiguous stretch of its padded
        /// image. A kernel that reads A's rows in place (<see cref="IGemmKernel.RowsA"/>) gets plain copies, row t at
        /// dst + t·kc (its FMAs are the packed kernel's: the same bits); else each run is transposed into a k-major
        /// sliver by <see cref="GemmPack.ARows"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PackSliver(float* dst, int mr, int height, int r0, int pc, int kc, in PaddedImages src, float** rows)
        {
            var geometry = src.Patch;
            var (p, outW, wp) = (geometry.Columns, geometry.OutWidth, PaddedImages.PaddedWidth(geometry));
            var i = pc / p;
            var oh = pc % p / outW;
            var ow = pc % p % outW;
            // Each row's start in image 0; a run is the same shift of all of them.
            for (var t = 0; t < height; t++) rows[t] = src.At(r0 + t, 0, 0);
            var size = PaddedImages.Size(geometry);
            for (var done = 0; done < kc;)
            {
                var run = Math.Min(outW - ow, kc - done);
                var shift = ((nint)i * size) + (oh * wp) + ow;
                if (TK.RowsA)
                {
                    for (var t = 0; t < height; t++) ImageColumns.Copy(rows[t] + shift, dst + ((nint)t * kc) + done, run);
                }
                else GemmPack.ARows(dst + ((nint)done * mr), mr, height, run, rows, shift);
                done += run;
                ow += run;
                if (ow == outW)
                {
                    ow = 0;
                    if (++oh == geometry.OutHeight)
                    {
                        oh = 0;
                        i++;
                    }
                }
            }
        }

        /// <summary>A tile narrower than NR with A's rows in place (<see cref="GemmImplicit.Driver{TK}.Edge"/>'s merge).</summary>
        private static void EdgeRowsA(int rows, int cols, int kc, float* a, float* b, float* tile, float* c, int ldc, float beta)
        {
            TK.TileRowsA(rows, kc, a, kc, b, TK.NR, tile, TK.NR, 1f, 0f);
            GemmImplicit.Driver<TK>.MergeEdge(rows, cols, tile, c, ldc, beta);
        }

        [SkipLocalsInit]
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Columns(float* packedA, int m, in PaddedImages src, int count, float* y, int ldy)
        {
            int mr = TK.MR, nr = TK.NR, k = src.RowCount;
            var mPad = (m + mr - 1) / mr * mr;
            var n = count * src.ColumnsPerImage;
            var ncMax = Even(n, NC, nr);
            var depth = GemmF32.SliceDepth(k);
            // Panel: the packed kc × nc block; Row: one row's columns when the block crosses images; Sliver: C's block.
            var buf = ImplicitBuffers.Get(depth * ncMax, ncMax, m * ncMax);
            var tile = stackalloc float[mr * nr];
            var block = buf.Sliver;
            for (var jc = 0; jc < n; jc += ncMax)
            {
                var nc = Math.Min(ncMax, n - jc);
                for (var pc = 0; pc < k; pc += depth)
                {
                    var kc = Math.Min(depth, k - pc);
                    var beta = pc == 0 ? 0f : 1f;
                    Pack(buf.Panel, nr, kc, nc, src, pc, jc, buf.Row);
                    Driver<TK>.PanelProduct(packedA + ((nint)pc * mPad), m, kc, buf.Panel, nc, block, ncMax, beta, tile);
                }
                Unpad(block, ncMax, m, jc, nc, src, y, ldy);
            }
        }

        /// <summary>The kc × nc block at (pc, jc) → nr-column slivers (as GemmPack.B): each row is a run of the padded images.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Pack(float* dst, int nr, int kc, int nc, in PaddedImages src, int pc, int jc, float* row)
        {
            var per = src.ColumnsPerImage;
            var (i, jj) = (jc / per, jc % per);
            var within = jj + nc <= per;
            for (var p = 0; p < kc; p++)
            {
                float* s;
                if (within) s = src.At(pc + p, i, jj);
                else
                {
                    // The block crosses into the next image(s): gather the row's runs first.
                    var (ii, from) = (i, jj);
                    for (var done = 0; done < nc; ii++, from = 0)
                    {
                        var run = Math.Min(per - from, nc - done);
                        ImageColumns.Copy(src.At(pc + p, ii, from), row + done, run);
                        done += run;
                    }
                    s = row;
                }
                GemmPack.BRow(s, dst + ((nint)p * nr), nr, kc, nc);
            }
        }

        /// <summary>The real columns of C's block (padded-width columns [jc, jc + nc)) → y; the junk columns are dropped.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
        private static void Unpad(float* block, int ldb, int m, int jc, int nc, in PaddedImages src, float* y, int ldy)
        {
            var g = src.Patch;
            var (per, wp, outW) = (src.ColumnsPerImage, PaddedImages.PaddedWidth(g), g.OutWidth);
            var p = g.Columns;
            var i = jc / per;
            var oh = jc % per / wp;
            var ow = jc % per % wp;
            for (var done = 0; done < nc;)
            {
                var run = Math.Min(wp - ow, nc - done);
                var real = Math.Min(ow + run, outW) - ow;
                if (real > 0)
                {
                    var s = block + done;
                    var d = y + ((nint)i * p) + (oh * outW) + ow;
                    for (var f = 0; f < m; f++) ImageColumns.Copy(s + ((nint)f * ldb), d + ((nint)f * ldy), real);
                }
                done += run;
                ow += run;
                if (ow == wp)
                {
                    ow = 0;
                    if (++oh == g.OutHeight)
                    {
                        oh = 0;
                        i++;
                    }
                }
            }
        }
    }
}
