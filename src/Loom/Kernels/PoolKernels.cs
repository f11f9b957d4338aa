using System.Numerics;

namespace Loom.Kernels;

/// <summary>
/// Pooling over independent planes (N·C of them; <see cref="PatchGeometry.Channels"/> counts planes here). Window
/// (oh, ow) covers rows oh·sH − pT + kh·dH and columns ow·sW − pL + kw·dW. The planes are split into fixed
/// contiguous parts run in parallel; every part writes only its own planes, so results do not depend on scheduling.
/// </summary>
public static class PoolKernels
{
    /// <summary>
    /// Max over each window, as PyTorch's CPU kernel: padding acts as −∞, the first maximum in scan order wins,
    /// a NaN wins over any number. indices[p, oh, ow] = ih·W + iw of the winner within its plane (−1, with value −∞,
    /// for a window that holds no input pixel).
    /// </summary>
    public static void MaxForward<T>(ReadOnlyMemory<T> input, PatchGeometry g, Memory<T> output, Memory<int> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, plane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var x = input.Span.Slice(p * plane, plane);
                var y = output.Span.Slice(p * outPlane, outPlane);
                var idx = indices.Span.Slice(p * outPlane, outPlane);
                for (var oh = 0; oh < g.OutHeight; oh++)
                {
                    var h0 = oh * g.StrideHeight - g.PadTop;
                    for (var ow = 0; ow < g.OutWidth; ow++)
                    {
                        var w0 = ow * g.StrideWidth - g.PadLeft;
                        var best = T.NegativeInfinity;
                        var bestIndex = -1;
                        for (var kh = 0; kh < g.KernelHeight; kh++)
                        {
                            var ih = h0 + kh * g.DilationHeight;
                            if ((uint)ih >= (uint)g.Height) continue;
                            for (var kw = 0; kw < g.KernelWidth; kw++)
                            {
                                var iw = w0 + kw * g.DilationWidth;
                                if ((uint)iw >= (uint)g.Width) continue;
                                var at = ih * g.Width + iw;
                                var v = x[at];
                                if (bestIndex < 0) bestIndex = at;
                                if (v > best || T.IsNaN(v))
                                {
                                    best = v;
                                    bestIndex = at;
                                }
                            }
                        }
                        y[oh * g.OutWidth + ow] = best;
                        idx[oh * g.OutWidth + ow] = bestIndex;
                    }
                }
            }
        });
    }

    /// <summary>∂x[p, indices[p, o]] += G[p, o]: each output's gradient goes to its argmax (overwrites ∂x).</summary>
    public static void MaxBackward<T>(ReadOnlyMemory<T> gradOutput, ReadOnlyMemory<int> indices, PatchGeometry g, Memory<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, outPlane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var gx = gradInput.Span.Slice(p * plane, plane);
                var gy = gradOutput.Span.Slice(p * outPlane, outPlane);
                var idx = indices.Span.Slice(p * outPlane, outPlane);
                gx.Clear();
                for (var o = 0; o < outPlane; o++)
                {
                    if (idx[o] >= 0) gx[idx[o]] += gy[o];
                }
            }
        });
    }

    /// <summary>
    /// Average over each window with PyTorch's divisor rule. The window is first clipped to the padded input
    /// [−pT, H + padBottom) (this matters in ceil mode), giving pool_size; then to the input [0, H), giving the
    /// count of real pixels. Divisor = divisorOverride if set (&gt; 0), else pool_size when countIncludePad, else the
    /// count. A window with no real pixel gives 0.
    /// </summary>
    public static void AvgForward<T>(ReadOnlyMemory<T> input, PatchGeometry g, int padBottom, int padRight, bool countIncludePad,
        int divisorOverride, Memory<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, plane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var x = input.Span.Slice(p * plane, plane);
                var y = output.Span.Slice(p * outPlane, outPlane);
                for (var oh = 0; oh < g.OutHeight; oh++)
                {
                    for (var ow = 0; ow < g.OutWidth; ow++)
                    {
                        var win = AvgWindow(g, padBottom, padRight, countIncludePad, divisorOverride, oh, ow);
                        var sum = T.Zero;
                        for (var ih = win.H0; ih < win.H1; ih++)
                        {
                            foreach (var v in x.Slice(ih * g.Width + win.W0, win.W1 - win.W0)) sum += v;
                        }
                        y[oh * g.OutWidth + ow] = win.Divisor == 0 ? T.Zero : sum / T.CreateChecked(win.Divisor);
                    }
                }
            }
        });
    }

    /// <summary>∂x[p, ih, iw] = Σ over windows containing (ih, iw) of G[p, oh, ow] / divisor (overwrites ∂x).</summary>
    public static void AvgBackward<T>(ReadOnlyMemory<T> gradOutput, PatchGeometry g, int padBottom, int padRight, bool countIncludePad,
        int divisorOverride, Memory<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, plane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var gx = gradInput.Span.Slice(p * plane, plane);
                var gy = gradOutput.Span.Slice(p * outPlane, outPlane);
                gx.Clear();
                for (var oh = 0; oh < g.OutHeight; oh++)
                {
                    for (var ow = 0; ow < g.OutWidth; ow++)
                    {
                        var win = AvgWindow(g, padBottom, padRight, countIncludePad, divisorOverride, oh, ow);
                        if (win.Divisor == 0) continue;
                        var share = gy[oh * g.OutWidth + ow] / T.CreateChecked(win.Divisor);
                        for (var ih = win.H0; ih < win.H1; ih++)
                        {
                            foreach (ref var e in gx.Slice(ih * g.Width + win.W0, win.W1 - win.W0)) e += share;
                        }
                    }
                }
            }
        });
    }

    /// <summary>
    /// Adaptive average pooling: output cell (i, j) averages rows [⌊i·H/H'⌋, ⌈(i+1)·H/H'⌉) and columns
    /// [⌊j·W/W'⌋, ⌈(j+1)·W/W'⌉), as PyTorch. Only Channels, sizes of <paramref name="g"/> are used.
    /// </summary>
    public static void AdaptiveAvgForward<T>(ReadOnlyMemory<T> input, PatchGeometry g, Memory<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, plane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var x = input.Span.Slice(p * plane, plane);
                var y = output.Span.Slice(p * outPlane, outPlane);
                for (var oh = 0; oh < g.OutHeight; oh++)
                {
                    var (h0, h1) = AdaptiveRange(oh, g.Height, g.OutHeight);
                    for (var ow = 0; ow < g.OutWidth; ow++)
                    {
                        var (w0, w1) = AdaptiveRange(ow, g.Width, g.OutWidth);
                        var sum = T.Zero;
                        for (var ih = h0; ih < h1; ih++)
                        {
                            foreach (var v in x.Slice(ih * g.Width + w0, w1 - w0)) sum += v;
                        }
                        y[oh * g.OutWidth + ow] = sum / T.CreateChecked((h1 - h0) * (w1 - w0));
                    }
                }
            }
        });
    }

    /// <summary>∂x = each G[i, j] spread evenly over its adaptive window (overwrites ∂x).</summary>
    public static void AdaptiveAvgBackward<T>(ReadOnlyMemory<T> gradOutput, PatchGeometry g, Memory<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        ForPlanes(g.Channels, plane, (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var gx = gradInput.Span.Slice(p * plane, plane);
                var gy = gradOutput.Span.Slice(p * outPlane, outPlane);
                gx.Clear();
                for (var oh = 0; oh < g.OutHeight; oh++)
                {
                    var (h0, h1) = AdaptiveRange(oh, g.Height, g.OutHeight);
                    for (var ow = 0; ow < g.OutWidth; ow++)
                    {
                        var (w0, w1) = AdaptiveRange(ow, g.Width, g.OutWidth);
                        var share = gy[oh * g.OutWidth + ow] / T.CreateChecked((h1 - h0) * (w1 - w0));
                        for (var ih = h0; ih < h1; ih++)
                        {
                            foreach (ref var e in gx.Slice(ih * g.Width + w0, w1 - w0)) e += share;
                        }
                    }
                }
            }
        });
    }

    /// <summary>[⌊i·n/m⌋, ⌈(i+1)·n/m⌉): the input range of adaptive output cell i (n inputs, m outputs).</summary>
    public static (int Start, int End) AdaptiveRange(int i, int n, int m) =>
        ((int)((long)i * n / m), (int)(((long)(i + 1) * n + m - 1) / m));

    private readonly record struct Window(int H0, int H1, int W0, int W1, int Divisor);

    private static Window AvgWindow(in PatchGeometry g, int padBottom, int padRight, bool countIncludePad, int divisorOverride, int oh, int ow)
    {
        var h0 = oh * g.StrideHeight - g.PadTop;
        var w0 = ow * g.StrideWidth - g.PadLeft;
        var h1 = Math.Min(h0 + g.KernelHeight, g.Height + padBottom);
        var w1 = Math.Min(w0 + g.KernelWidth, g.Width + padRight);
        var poolSize = (h1 - h0) * (w1 - w0);
        (h0, w0) = (Math.Max(h0, 0), Math.Max(w0, 0));
        (h1, w1) = (Math.Min(h1, g.Height), Math.Min(w1, g.Width));
        if (h0 >= h1 || w0 >= w1) return new Window(0, 0, 0, 0, 0);
        var divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
        return new Window(h0, h1, w0, w1, divisor);
    }

    /// <summary>Runs body(start, end) over a fixed split of the planes (about 16k elements of work per part at least).</summary>
    private static void ForPlanes(int planes, int planeSize, Action<int, int> body)
    {
        var parts = Threads.PartsFor(planes, Math.Max(1, (1 << 14) / Math.Max(1, planeSize)), Threads.Count);
        Threads.For(parts, part =>
        {
            var (start, end) = Threads.Range(planes, parts, part);
            body(start, end);
        });
    }
}
