using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// The im2col column matrix of one group of a run of images, never stored: row r = (c, kh, kw) over the group's
/// channels, column j = i·P + q for image i of the run and window position q = oh·outW + ow (P = outH·outW), entry
/// image_i[channel0 + c, oh·sH − pT + kh·dH, ow·sW − pL + kw·dW] (zero outside the image), exactly as
/// <see cref="Im2Col.Forward{T}(ReadOnlySpan{T}, in PatchGeometry, Span{T}, int)"/> with the images side by side.
/// The implicit GEMM (<see cref="GemmImplicit"/>) asks for a stretch of one row at a time, in L1, and packs it
/// straight into its panels: the column matrix (576 × 3136 floats for one W6 image) is never written to memory.
/// </summary>
/// <param name="images">The first image of the run, [C, H, W] each, images <c>Patch.ImageSize</c> apart.</param>
/// <param name="patch">The sizes; <c>Patch.Channels</c> is all C image channels.</param>
/// <param name="channel0">The group's first image channel.</param>
/// <param name="rows">Rows of the matrix: the group's channels × kH·kW.</param>
internal readonly unsafe struct ImageColumns(float* images, PatchGeometry patch, int channel0, int rows)
{
    public int RowCount => rows;

    /// <summary>dst[0 .. width) ← row r, columns [j0, j0 + width).</summary>
    public void Row(int r, int j0, int width, float* dst) => Rows(r, 1, j0, width, dst, width);

    /// <summary>
    /// Rows [r0, r0 + count), columns [j0, j0 + width) → dst (row t at dst + t·<paramref name="ld"/>). Where the
    /// stretch starts (image, output row, column) is worked out once for all the rows, and each row's tap once for
    /// its whole stretch, so the inner loops only copy and clear.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Rows(int r0, int count, int j0, int width, float* dst, nint ld)
    {
        var g = patch;
        var (h, w, outW, p, sH, sW) = (g.Height, g.Width, g.OutWidth, g.Columns, g.StrideHeight, g.StrideWidth);
        var taps = g.KernelHeight * g.KernelWidth;
        var c = channel0 + (r0 / taps);
        var kh = r0 % taps / g.KernelWidth;
        var kw = r0 % g.KernelWidth;
        var i0 = j0 / p;
        var oh0 = (j0 - (i0 * p)) / outW;
        var ow0 = j0 - (i0 * p) - (oh0 * outW);
        for (var t = 0; t < count; t++, dst += ld)
        {
            var offW = (kw * g.DilationWidth) - g.PadLeft;
            var (owLo, owHi) = sW == 1
                ? (Math.Clamp(-offW, 0, outW), Math.Clamp(w - offW, 0, outW))
                : Im2Col.ValidRange(offW, sW, w, outW);
            var plane = images + ((nint)i0 * g.ImageSize) + ((nint)c * h * w);
            var offH = (kh * g.DilationHeight) - g.PadTop;
            var (oh, ow) = (oh0, ow0);
            for (var done = 0; done < width;)
            {
                // One output row's stretch [ow, ow + run) of the current image.
                var run = Math.Min(outW - ow, width - done);
                var d = dst + done - ow;
                var ih = (oh * sH) + offH;
                if ((uint)ih >= (uint)h || owLo >= owHi)
                {
                    Zero(d + ow, run);
                }
                else
                {
                    var end = ow + run;
                    var lo = Math.Clamp(owLo, ow, end);
                    var hi = Math.Clamp(owHi, lo, end);
                    for (var q = ow; q < lo; q++) d[q] = 0f;
                    for (var q = hi; q < end; q++) d[q] = 0f;
                    var src = plane + ((nint)ih * w) + offW;
                    if (sW == 1) Copy(src + lo, d + lo, hi - lo);
                    else
                    {
                        for (var q = lo; q < hi; q++) d[q] = src[q * sW];
                    }
                }
                done += run;
                ow += run;
                if (ow == outW)
                {
                    ow = 0;
                    if (++oh == g.OutHeight)
                    {
                        oh = 0;
                        plane += g.ImageSize;
                    }
                }
            }
            if (++kw == g.KernelWidth)
            {
                kw = 0;
                if (++kh == g.KernelHeight)
                {
                    kh = 0;
                    c++;
                }
            }
        }
    }

    /// <summary>dst ← src for a short run: 8-wide copies with an overlapping last vector (no call into Memmove).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(float* src, float* dst, int n)
    {
        if (n >= 8 && Vector256.IsHardwareAccelerated)
        {
            var t = 0;
            for (; t + 8 < n; t += 8) Vector256.Load(src + t).Store(dst + t);
            Vector256.Load(src + n - 8).Store(dst + n - 8);
            return;
        }
        for (var t = 0; t < n; t++) dst[t] = src[t];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* dst, int n)
    {
        var t = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; t + 8 <= n; t += 8) Vector256<float>.Zero.Store(dst + t);
        }
        for (; t < n; t++) dst[t] = 0f;
    }
}
