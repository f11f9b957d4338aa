using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        var plane = g.Height * g.Width;
        ForPlanes(g.Channels, plane, (start, end) => MaxPlanes(input.Span, g, start, end, output.Span, indices.Span));
    }

    /// <summary>
    /// <see cref="MaxForward{T}"/> of one plane on the calling thread: <paramref name="input"/> starts at the plane and
    /// may run past it (the 2×2 kernel's vector loads may read there; nothing past the plane is used). For fused ops
    /// that pool a block while it is still in cache (conv+ReLU+max-pool).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per plane of a fused conv: optimized at first call
    public static void MaxPlane<T>(ReadOnlySpan<T> input, in PatchGeometry g, Span<T> output, Span<int> indices)
        where T : unmanaged, IFloatingPointIeee754<T> => MaxPlanes(input, g, 0, 1, output, indices);

    /// <summary>Max pooling of planes [start, end) on the calling thread (the 2×2 fast path for float32 when it applies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // an element loop: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void MaxPlanes<T>(ReadOnlySpan<T> input, in PatchGeometry g, int start, int end, Span<T> output, Span<int> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsPlain2x2(g))
        {
            Max2x2Forward(MemoryMarshal.Cast<T, float>(input), g, start, end, MemoryMarshal.Cast<T, float>(output), indices);
            return;
        }
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        for (var p = start; p < end; p++)
        {
            var x = input.Slice(p * plane, plane);
            var y = output.Slice(p * outPlane, outPlane);
            var idx = indices.Slice(p * outPlane, outPlane);
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
    }

    /// <summary>The 2×2, stride-2 window without padding or dilation of every CNN's pooling layer, all windows complete.</summary>
    private static bool IsPlain2x2(in PatchGeometry g) =>
        g is { KernelHeight: 2, KernelWidth: 2, StrideHeight: 2, StrideWidth: 2, PadTop: 0, PadLeft: 0, DilationHeight: 1, DilationWidth: 1 }
        && 2 * g.OutHeight <= g.Height && 2 * g.OutWidth <= g.Width; // every window inside the input (not so in ceil mode)

    /// <summary>
    /// <see cref="MaxForward{T}"/> for 2×2 windows at stride 2 (no padding), planes [start, end): the same scan order
    /// (row 0 left, right, row 1 left, right), the same rule (a later tap wins when it is greater or NaN), without the
    /// generic per-tap bounds tests that made the general loop the slowest op of a SmallCnn step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // an element loop: optimized at first call (docs/performance.md, "JIT warm-up")
    [SkipLocalsInit]
    private static void Max2x2Forward(ReadOnlySpan<float> input, in PatchGeometry g, int start, int end, Span<float> output, Span<int> indices)
    {
        var (w, oh, ow) = (g.Width, g.OutHeight, g.OutWidth);
        var (plane, outPlane) = (g.Height * w, oh * ow);
        for (var p = start; p < end; p++)
        {
            var x = input.Slice(p * plane, plane);
            var y = output.Slice(p * outPlane, outPlane);
            var idx = indices.Slice(p * outPlane, outPlane);
            for (var i = 0; i < oh; i++)
            {
                var r0 = x.Slice(2 * i * w, w);
                var r1 = x.Slice((2 * i + 1) * w, w);
                var yr = y.Slice(i * ow, ow);
                var ir = idx.Slice(i * ow, ow);
                var base0 = 2 * i * w;
                var j = 0;
                if (Avx512F.IsSupported)
                {
                    // 16 windows at a time: 32 floats of each input row, split into even and odd columns.
                    for (; j < ow && (long)p * plane + base0 + w + 2 * j + 32 <= input.Length; j += 16)
                        Max2x2Vector(input, p * plane + base0, w, 2 * j, base0 + 2 * j, Math.Min(16, ow - j), yr[j..], ir[j..]);
                }
                for (; j < yr.Length && j < ir.Length; j++)
                {
                    var c = 2 * j;
                    if ((uint)(c + 1) >= (uint)r0.Length || (uint)(c + 1) >= (uint)r1.Length) break;
                    var best = r0[c];
                    var at = base0 + c;
                    var v = r0[c + 1];
                    if (v > best || float.IsNaN(v)) (best, at) = (v, base0 + c + 1);
                    v = r1[c];
                    if (v > best || float.IsNaN(v)) (best, at) = (v, base0 + w + c);
                    v = r1[c + 1];
                    if (v > best || float.IsNaN(v)) (best, at) = (v, base0 + w + c + 1);
                    yr[j] = best;
                    ir[j] = at;
                }
            }
        }
    }

    private static readonly Vector512<int> EvenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> OddLanes = EvenLanes + Vector512<int>.One;

    /// <summary>
    /// Up to 16 windows of one output row: reads 32 floats of both input rows from <paramref name="row0"/> + c (the
    /// caller checks they lie inside <paramref name="input"/>; columns past the row feed only lanes not stored),
    /// compares without branches (random data made the scalar loop's branches mispredict), stores <paramref name="count"/>.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called per output row: at tier 0 (its vector helpers calls) it cost ~5 ms a W3 step
    private static void Max2x2Vector(ReadOnlySpan<float> input, int row0, int w, int c, int at0, int count, Span<float> y, Span<int> idx)
    {
        ref var x = ref MemoryMarshal.GetReference(input);
        var (a0, a1) = (Vector512.LoadUnsafe(ref x, (nuint)(row0 + c)), Vector512.LoadUnsafe(ref x, (nuint)(row0 + c + 16)));
        var (b0, b1) = (Vector512.LoadUnsafe(ref x, (nuint)(row0 + w + c)), Vector512.LoadUnsafe(ref x, (nuint)(row0 + w + c + 16)));
        var best = Avx512F.PermuteVar16x32x2(a0, EvenLanes, a1);
        var at = Vector512.Create(at0) + EvenLanes;
        var v = Avx512F.PermuteVar16x32x2(a0, OddLanes, a1);
        var m = Vector512.GreaterThan(v, best) | Vector512.IsNaN(v);
        (best, at) = (Vector512.ConditionalSelect(m, v, best), Vector512.ConditionalSelect(m.AsInt32(), at + Vector512<int>.One, at));
        v = Avx512F.PermuteVar16x32x2(b0, EvenLanes, b1);
        m = Vector512.GreaterThan(v, best) | Vector512.IsNaN(v);
        var atRow1 = Vector512.Create(at0 + w) + EvenLanes;
        (best, at) = (Vector512.ConditionalSelect(m, v, best), Vector512.ConditionalSelect(m.AsInt32(), atRow1, at));
        v = Avx512F.PermuteVar16x32x2(b0, OddLanes, b1);
        m = Vector512.GreaterThan(v, best) | Vector512.IsNaN(v);
        (best, at) = (Vector512.ConditionalSelect(m, v, best), Vector512.ConditionalSelect(m.AsInt32(), atRow1 + Vector512<int>.One, at));
        if (count == 16 && y.Length >= 16 && idx.Length >= 16)
        {
            best.StoreUnsafe(ref MemoryMarshal.GetReference(y));
            at.StoreUnsafe(ref MemoryMarshal.GetReference(idx));
            return;
        }
        Span<float> yt = stackalloc float[16];
        Span<int> it = stackalloc int[16];
        best.CopyTo(yt);
        at.CopyTo(it);
        yt[..count].CopyTo(y);
        it[..count].CopyTo(idx);
    }

    /// <summary>∂x[p, indices[p, o]] += G[p, o]: each output's gradient goes to its argmax (overwrites ∂x).</summary>
    public static void MaxBackward<T>(ReadOnlyMemory<T> gradOutput, ReadOnlyMemory<int> indices, PatchGeometry g, Memory<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (plane, outPlane) = (g.Height * g.Width, g.OutHeight * g.OutWidth);
        var plain = IsPlain2x2(g);
        ForPlanes(g.Channels, outPlane, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var gx = gradInput.Span.Slice(p * plane, plane);
                var gy = gradOutput.Span.Slice(p * outPlane, outPlane);
                var idx = indices.Span.Slice(p * outPlane, outPlane);
                if (plain)
                {
                    Max2x2Backward(gy, idx, g, gx);
                    continue;
                }
                gx.Clear();
                for (var o = 0; o < outPlane; o++)
                {
                    if (idx[o] >= 0) gx[idx[o]] += gy[o];
                }
            }
        });
    }

    /// <summary>
    /// <see cref="MaxBackward{T}"/> of one plane for 2×2 windows at stride 2, all inside the plane: the windows do not
    /// overlap, so each one writes its four cells (the gradient at the winner, zeros elsewhere) instead of clearing the
    /// plane and scattering into it. 0 + G as the general loop, so a −0 gradient gives the same +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // an element loop: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void Max2x2Backward<T>(ReadOnlySpan<T> gy, ReadOnlySpan<int> idx, in PatchGeometry g, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (w, oh, ow) = (g.Width, g.OutHeight, g.OutWidth);
        if (2 * oh < g.Height || 2 * ow < w) gx.Clear(); // an odd last row or column belongs to no window
        for (var i = 0; i < oh; i++)
        {
            for (var j = 0; j < ow; j++)
            {
                var c = 2 * i * w + 2 * j;
                gx[c] = gx[c + 1] = gx[c + w] = gx[c + w + 1] = T.Zero;
                var o = i * ow + j;
                gx[idx[o]] = T.Zero + gy[o];
            }
        }
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
