using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// The sizes of one 2-D sliding-window correlation of a single image: the image side (channels, height, width),
/// the window positions (outH × outW), the kernel, stride, top/left padding and dilation. Window position (oh, ow)
/// with kernel tap (kh, kw) reads image pixel (ih, iw) = (oh·sH − padTop + kh·dH, ow·sW − padLeft + kw·dW);
/// taps outside the image read zero. Bottom/right padding only enters through outH/outW.
/// </summary>
public readonly record struct PatchGeometry(
    int Channels, int Height, int Width, int OutHeight, int OutWidth,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int DilationHeight, int DilationWidth)
{
    /// <summary>Rows of the column matrix: Channels·kH·kW.</summary>
    public int Rows => Channels * KernelHeight * KernelWidth;

    /// <summary>Columns of the column matrix: outH·outW (one per window position).</summary>
    public int Columns => OutHeight * OutWidth;

    /// <summary>Pixels in one image: Channels·H·W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>True when the column matrix is the image itself (1×1 kernel, stride 1, no padding): im2col is a copy.</summary>
    public bool IsIdentity => KernelHeight == 1 && KernelWidth == 1 && StrideHeight == 1 && StrideWidth == 1
        && PadTop == 0 && PadLeft == 0 && OutHeight == Height && OutWidth == Width;
}

/// <summary>
/// im2col and its adjoint col2im: the unrolling that turns a correlation into a GEMM.
/// cols[(c·kH + kh)·kW + kw, oh·outW + ow] = image[c, oh·sH − pT + kh·dH, ow·sW − pL + kw·dW] (zero outside the image).
/// col2im adds each column entry back onto the pixel it was read from (overlapping windows accumulate).
/// Each output row is split once into the ranges of window positions that fall left of, inside and right of the
/// image, so the inner loops have no bounds checks; <see cref="Im2ColReference"/> is the plain per-element version.
/// </summary>
public static class Im2Col
{
    /// <summary>Unrolls one image [C, H, W] into <paramref name="cols"/> [C·kH·kW, outH·outW] (every entry written).</summary>
    public static void Forward<T>(ReadOnlySpan<T> image, in PatchGeometry g, Span<T> cols)
        where T : unmanaged, IFloatingPointIeee754<T> => Forward(image, g, cols, g.Columns);

    /// <summary>
    /// Unrolls one image into the first outH·outW entries of each of the C·kH·kW rows of <paramref name="cols"/>, rows
    /// <paramref name="ld"/> apart: several images side by side make one wide column matrix for a single GEMM.
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> image, in PatchGeometry g, Span<T> cols, int ld)
        where T : unmanaged, IFloatingPointIeee754<T> => Forward(image, g, cols, ld, 0, g.OutHeight);

    /// <summary>
    /// Unrolls only the window rows [<paramref name="oh0"/>, <paramref name="oh1"/>): a band of (oh1 − oh0)·outW
    /// columns per row of <paramref name="cols"/>, rows <paramref name="ld"/> apart. A large image is unrolled a band
    /// at a time so that the band's columns stay in L2 while the GEMM reads them (<see cref="ConvKernels"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Forward<T>(ReadOnlySpan<T> image, in PatchGeometry g, Span<T> cols, int ld, int oh0, int oh1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outH, outW, h, w) = (oh1 - oh0, g.OutWidth, g.Height, g.Width);
        var row = 0;
        for (var c = 0; c < g.Channels; c++)
        {
            var plane = image.Slice(c * h * w, h * w);
            for (var kh = 0; kh < g.KernelHeight; kh++)
            {
                for (var kw = 0; kw < g.KernelWidth; kw++, row++)
                {
                    var dst = cols.Slice(row * ld, outH * outW);
                    var offW = kw * g.DilationWidth - g.PadLeft;
                    var (owLo, owHi) = ValidRange(offW, g.StrideWidth, w, outW);
                    for (var oh = 0; oh < outH; oh++)
                    {
                        var line = dst.Slice(oh * outW, outW);
                        var ih = (oh0 + oh) * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                        if ((uint)ih >= (uint)h || owLo >= owHi)
                        {
                            line.Clear();
                            continue;
                        }
                        // Padding columns are a few elements at each end: a loop beats a call to Clear.
                        for (var ow = 0; ow < owLo; ow++) line[ow] = T.Zero;
                        for (var ow = owHi; ow < outW; ow++) line[ow] = T.Zero;
                        var src = plane.Slice(ih * w, w);
                        if (g.StrideWidth == 1)
                        {
                            CopyRow(src.Slice(owLo + offW, owHi - owLo), line[owLo..owHi]);
                        }
                        else
                        {
                            var iw = owLo * g.StrideWidth + offW;
                            for (var ow = owLo; ow < owHi; ow++, iw += g.StrideWidth) line[ow] = src[iw];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Adds the columns <paramref name="cols"/> [C·kH·kW, outH·outW] back into <paramref name="image"/> [C, H, W] (accumulates).</summary>
    public static void Backward<T>(ReadOnlySpan<T> cols, in PatchGeometry g, Span<T> image)
        where T : unmanaged, IFloatingPointIeee754<T> => Backward(cols, g, image, g.Columns);

    /// <summary>Adds columns stored with rows <paramref name="ld"/> apart (see <see cref="Forward{T}(ReadOnlySpan{T}, in PatchGeometry, Span{T}, int)"/>) into <paramref name="image"/>.</summary>
    public static void Backward<T>(ReadOnlySpan<T> cols, in PatchGeometry g, Span<T> image, int ld)
        where T : unmanaged, IFloatingPointIeee754<T> => Backward(cols, g, image, ld, 0, g.OutHeight);

    /// <summary>Adds a band of window rows [<paramref name="oh0"/>, <paramref name="oh1"/>) (as unrolled by the banded <c>Forward</c>) into <paramref name="image"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Backward<T>(ReadOnlySpan<T> cols, in PatchGeometry g, Span<T> image, int ld, int oh0, int oh1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outH, outW, h, w) = (oh1 - oh0, g.OutWidth, g.Height, g.Width);
        var row = 0;
        for (var c = 0; c < g.Channels; c++)
        {
            var plane = image.Slice(c * h * w, h * w);
            for (var kh = 0; kh < g.KernelHeight; kh++)
            {
                for (var kw = 0; kw < g.KernelWidth; kw++, row++)
                {
                    var src = cols.Slice(row * ld, outH * outW);
                    var offW = kw * g.DilationWidth - g.PadLeft;
                    var (owLo, owHi) = ValidRange(offW, g.StrideWidth, w, outW);
                    if (owLo >= owHi) continue;
                    for (var oh = 0; oh < outH; oh++)
                    {
                        var ih = (oh0 + oh) * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                        if ((uint)ih >= (uint)h) continue;
                        var line = src.Slice(oh * outW, outW);
                        var dst = plane.Slice(ih * w, w);
                        var iw = owLo * g.StrideWidth + offW;
                        if (g.StrideWidth == 1)
                        {
                            var run = dst.Slice(iw, owHi - owLo);
                            AddInto(run, line[owLo..owHi]);
                        }
                        else
                        {
                            for (var ow = owLo; ow < owHi; ow++, iw += g.StrideWidth) dst[iw] += line[ow];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// dst ← src for one image row (tens of elements): for float32, 8-wide copies with an overlapping last vector.
    /// Span.CopyTo's call into Memmove cost ~6 % of a W6 forward+backward for these short rows.
    /// </summary>
    private static void CopyRow<T>(ReadOnlySpan<T> src, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) || src.Length < Vector256<float>.Count || !Vector256.IsHardwareAccelerated)
        {
            src.CopyTo(dst);
            return;
        }
        ref var s = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src));
        ref var d = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst));
        var n = (nuint)src.Length;
        var last = n - (nuint)Vector256<float>.Count;
        for (nuint i = 0; i < last; i += (nuint)Vector256<float>.Count)
            Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref s, i), ref d, i);
        Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref s, last), ref d, last);
    }

    /// <summary>dst += src, vectorised for float32 (the stride-1 rows of col2im).</summary>
    private static void AddInto<T>(Span<T> dst, ReadOnlySpan<T> src)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var d = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst);
            System.Numerics.Tensors.TensorPrimitives.Add(d, System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src), d);
            return;
        }
        for (var i = 0; i < dst.Length; i++) dst[i] += src[i];
    }

    /// <summary>The window positions [lo, hi) whose tap iw = ow·s + offset lies inside [0, size).</summary>
    internal static (int Lo, int Hi) ValidRange(int offset, int stride, int size, int outSize)
    {
        // ow·s + offset ≥ 0  ⇔  ow ≥ ceil(−offset / s);   ow·s + offset ≤ size − 1  ⇔  ow ≤ floor((size − 1 − offset) / s).
        var lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        var top = size - 1 - offset;
        var hi = top < 0 ? 0 : top / stride + 1;
        return (Math.Min(lo, outSize), Math.Clamp(hi, 0, outSize));
    }
}
