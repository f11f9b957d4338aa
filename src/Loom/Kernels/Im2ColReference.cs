using System.Numerics;

namespace Loom.Kernels;

/// <summary>
/// The definition of im2col/col2im, one element at a time with a bounds check per tap. <see cref="Im2Col"/> is
/// tested against it.
/// </summary>
public static class Im2ColReference
{
    /// <summary>cols[(c·kH + kh)·kW + kw, oh·outW + ow] = image[c, oh·sH − pT + kh·dH, ow·sW − pL + kw·dW], or 0 outside.</summary>
    public static void Forward<T>(ReadOnlySpan<T> image, in PatchGeometry g, Span<T> cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var c = 0; c < g.Channels; c++)
            for (var kh = 0; kh < g.KernelHeight; kh++)
                for (var kw = 0; kw < g.KernelWidth; kw++)
                {
                    var row = (c * g.KernelHeight + kh) * g.KernelWidth + kw;
                    for (var oh = 0; oh < g.OutHeight; oh++)
                        for (var ow = 0; ow < g.OutWidth; ow++)
                        {
                            var ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                            var iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                            var inside = ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width;
                            cols[row * g.Columns + oh * g.OutWidth + ow] = inside ? image[(c * g.Height + ih) * g.Width + iw] : T.Zero;
                        }
                }
    }

    /// <summary>image[c, ih, iw] += cols[row, col] for every tap that reads (c, ih, iw).</summary>
    public static void Backward<T>(ReadOnlySpan<T> cols, in PatchGeometry g, Span<T> image)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var c = 0; c < g.Channels; c++)
            for (var kh = 0; kh < g.KernelHeight; kh++)
                for (var kw = 0; kw < g.KernelWidth; kw++)
                {
                    var row = (c * g.KernelHeight + kh) * g.KernelWidth + kw;
                    for (var oh = 0; oh < g.OutHeight; oh++)
                        for (var ow = 0; ow < g.OutWidth; ow++)
                        {
                            var ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                            var iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                            if (ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width)
                                image[(c * g.Height + ih) * g.Width + iw] += cols[row * g.Columns + oh * g.OutWidth + ow];
                        }
                }
    }
}
