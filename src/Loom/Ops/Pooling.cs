using System.Numerics;
using System.Runtime.CompilerServices;
using Loom.Geometry;
using Loom.Kernels;

namespace Loom;

/// <summary>Settings of <see cref="Functional.MaxPool2d(Tensor, MaxPool2dOptions)"/>: stride defaults to the kernel.</summary>
/// <param name="Kernel">Window size (kH, kW).</param>
public sealed record MaxPool2dOptions((int H, int W) Kernel)
{
    /// <summary>Step between windows; null means the kernel size (PyTorch's default).</summary>
    public (int H, int W)? Stride { get; init; }

    /// <summary>−∞ padding added on both sides of each axis; at most half the kernel.</summary>
    public (int H, int W) Padding { get; init; }

    /// <summary>Spacing between window taps.</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Round the output size up instead of down (the last window must still start inside input or left padding).</summary>
    public bool CeilMode { get; init; }
}

/// <summary>Settings of <see cref="Functional.AvgPool2d(Tensor, AvgPool2dOptions)"/>: stride defaults to the kernel.</summary>
/// <param name="Kernel">Window size (kH, kW).</param>
public sealed record AvgPool2dOptions((int H, int W) Kernel)
{
    /// <summary>Step between windows; null means the kernel size.</summary>
    public (int H, int W)? Stride { get; init; }

    /// <summary>Zero padding added on both sides of each axis; at most half the kernel.</summary>
    public (int H, int W) Padding { get; init; }

    /// <summary>Round the output size up instead of down.</summary>
    public bool CeilMode { get; init; }

    /// <summary>Count padding zeros in the divisor (PyTorch's default true).</summary>
    public bool CountIncludePad { get; init; } = true;

    /// <summary>If set, the divisor of every window.</summary>
    public int? DivisorOverride { get; init; }
}

/// <summary>
/// Pooling: max (with argmax indices), average and adaptive average, 1-D and 2-D, forward and backward.
/// <code>
///   max:  y[p,i,j] = max over taps (i·sH − pH + kh·dH, j·sW − pW + kw·dW) of x[p, ·, ·]   (padding = −∞)
///         ∂x[p, argmax(i,j)] += G[p,i,j]                                     (the gradient is routed to the winner)
///   avg:  y[p,i,j] = Σ window x / divisor        ∂x[window] += G[p,i,j] / divisor   (PyTorch's divisor rules)
/// </code>
/// Output sizes come from <see cref="ConvGeometry.OutputSize"/> (floor, or ceil in ceil mode).
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// 2-D max pooling, as PyTorch's <c>F.max_pool2d</c>.
    /// Args: x [N, C, H, W] or [C, H, W]; kernel, stride (default = kernel), padding (≤ kernel/2), dilation, ceil_mode.
    /// </summary>
    /// <returns>Shape: [N, C, H', W'], H' = floor((H + 2·padding − dilation·(kernel − 1) − 1)/stride) + 1 (ceil in ceil mode).</returns>
    /// <example><code>var y = Functional.MaxPool2d(x /* [1, 32, 28, 28] */, 2);   // [1, 32, 14, 14]</code></example>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool2d(x, new MaxPool2dOptions((kernel, kernel))
        {
            Stride = stride is { } s ? (s, s) : null,
            Padding = (padding, padding),
            Dilation = (dilation, dilation),
            CeilMode = ceilMode,
        });

    /// <summary>2-D max pooling with all settings in <paramref name="options"/>. Shape: [N, C, H, W] → [N, C, H', W'].</summary>
    public static Tensor MaxPool2d(Tensor x, MaxPool2dOptions options) => MaxPool2d(x, options, exposeIndices: false).Values;

    /// <summary>
    /// 2-D max pooling that also returns the argmax of every window as an int32 tensor of the output's shape, holding
    /// the flat index ih·W + iw within the input plane (PyTorch's <c>return_indices=True</c>, which gives int64).
    /// </summary>
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor x, MaxPool2dOptions options) =>
        MaxPool2d(x, options, exposeIndices: true);

    private static (Tensor Values, Tensor Indices) MaxPool2d(Tensor x, MaxPool2dOptions options, bool exposeIndices)
    {
        const string op = "max_pool2d";
        CheckPoolInput(op, x, 2);
        var (geometry, yShape) = MaxPool2dPlan(op, x.Shape, options);
        return MaxPool(op, x, geometry, yShape, exposeIndices);
    }

    /// <summary>The planes-and-windows geometry of a 2-D max pooling over <paramref name="xShape"/> ([N, C, H, W] or
    /// [C, H, W]) and the output's shape; checks the padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static (PatchGeometry Geometry, Shape YShape) MaxPool2dPlan(string op, Shape xShape, MaxPool2dOptions options)
    {
        var (kh, kw) = options.Kernel;
        var (sh, sw) = options.Stride ?? options.Kernel;
        var (ph, pw) = options.Padding;
        var (dh, dw) = options.Dilation;
        CheckHalfKernelPadding(op, ph, kh, "height");
        CheckHalfKernelPadding(op, pw, kw, "width");
        var (h, w) = (xShape[-2], xShape[-1]);
        var oh = ConvGeometry.OutputSize(h, kh, sh, ph, ph, dh, options.CeilMode, op, "height");
        var ow = ConvGeometry.OutputSize(w, kw, sw, pw, pw, dw, options.CeilMode, op, "width");
        var geometry = new PatchGeometry(xShape.Numel / Math.Max(1, h * w), h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw);
        return (geometry, PooledShape(xShape, 2, oh, ow));
    }

    /// <summary>
    /// 1-D max pooling, as PyTorch's <c>F.max_pool1d</c>. Args: x [N, C, L] or [C, L].
    /// </summary>
    /// <returns>Shape: [N, C, L'], L' = floor((L + 2·padding − dilation·(kernel − 1) − 1)/stride) + 1 (ceil in ceil mode).</returns>
    public static Tensor MaxPool1d(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool1d(x, kernel, stride, padding, dilation, ceilMode, exposeIndices: false).Values;

    /// <summary>1-D max pooling with the argmax indices (flat positions within each row, int32).</summary>
    public static (Tensor Values, Tensor Indices) MaxPool1dWithIndices(Tensor x, int kernel, int? stride = null, int padding = 0,
        int dilation = 1, bool ceilMode = false) => MaxPool1d(x, kernel, stride, padding, dilation, ceilMode, exposeIndices: true);

    private static (Tensor Values, Tensor Indices) MaxPool1d(Tensor x, int kernel, int? stride, int padding, int dilation, bool ceilMode,
        bool exposeIndices)
    {
        const string op = "max_pool1d";
        CheckPoolInput(op, x, 1);
        var s = stride ?? kernel;
        CheckHalfKernelPadding(op, padding, kernel, "length");
        var l = x.Shape[-1];
        var ol = ConvGeometry.OutputSize(l, kernel, s, padding, padding, dilation, ceilMode, op, "length");
        var geometry = new PatchGeometry(x.Numel / Math.Max(1, l), 1, l, 1, ol, 1, kernel, 1, s, 0, padding, 1, dilation);
        return MaxPool(op, x, geometry, PooledShape(x.Shape, 1, 1, ol), exposeIndices);
    }

    /// <summary>
    /// 2-D average pooling, as PyTorch's <c>F.avg_pool2d</c>. Args: x [N, C, H, W] or [C, H, W]; kernel, stride
    /// (default = kernel), padding (≤ kernel/2), ceil_mode, count_include_pad, divisor_override.
    /// </summary>
    /// <returns>Shape: [N, C, H', W'], H' = floor((H + 2·padding − kernel)/stride) + 1 (ceil in ceil mode).</returns>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPool2d(x, new AvgPool2dOptions((kernel, kernel))
        {
            Stride = stride is { } s ? (s, s) : null,
            Padding = (padding, padding),
            CeilMode = ceilMode,
            CountIncludePad = countIncludePad,
            DivisorOverride = divisorOverride,
        });

    /// <summary>2-D average pooling with all settings in <paramref name="options"/>. Shape: [N, C, H, W] → [N, C, H', W'].</summary>
    public static Tensor AvgPool2d(Tensor x, AvgPool2dOptions options)
    {
        const string op = "avg_pool2d";
        CheckPoolInput(op, x, 2);
        var (kh, kw) = options.Kernel;
        var (sh, sw) = options.Stride ?? options.Kernel;
        var (ph, pw) = options.Padding;
        CheckHalfKernelPadding(op, ph, kh, "height");
        CheckHalfKernelPadding(op, pw, kw, "width");
        var divisor = CheckDivisor(op, options.DivisorOverride);
        var (h, w) = (x.Shape[-2], x.Shape[-1]);
        var oh = ConvGeometry.OutputSize(h, kh, sh, ph, ph, 1, options.CeilMode, op, "height");
        var ow = ConvGeometry.OutputSize(w, kw, sw, pw, pw, 1, options.CeilMode, op, "width");
        var geometry = new PatchGeometry(x.Numel / Math.Max(1, h * w), h, w, oh, ow, kh, kw, sh, sw, ph, pw, 1, 1);
        return AvgPool(op, x, geometry, (ph, pw), options.CountIncludePad, divisor, PooledShape(x.Shape, 2, oh, ow));
    }

    /// <summary>
    /// 1-D average pooling, as PyTorch's <c>F.avg_pool1d</c>. Args: x [N, C, L] or [C, L].
    /// </summary>
    /// <returns>Shape: [N, C, L'], L' = floor((L + 2·padding − kernel)/stride) + 1 (ceil in ceil mode).</returns>
    public static Tensor AvgPool1d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        const string op = "avg_pool1d";
        CheckPoolInput(op, x, 1);
        var s = stride ?? kernel;
        CheckHalfKernelPadding(op, padding, kernel, "length");
        var l = x.Shape[-1];
        var ol = ConvGeometry.OutputSize(l, kernel, s, padding, padding, 1, ceilMode, op, "length");
        var geometry = new PatchGeometry(x.Numel / Math.Max(1, l), 1, l, 1, ol, 1, kernel, 1, s, 0, padding, 1, 1);
        return AvgPool(op, x, geometry, (0, padding), countIncludePad, 0, PooledShape(x.Shape, 1, 1, ol));
    }

    /// <summary>
    /// Adaptive 2-D average pooling to a fixed output size, as PyTorch's <c>F.adaptive_avg_pool2d</c>.
    /// Output cell (i, j) averages rows [⌊i·H/H'⌋, ⌈(i+1)·H/H'⌉) and columns [⌊j·W/W'⌋, ⌈(j+1)·W/W'⌉).
    /// </summary>
    /// <returns>Shape: [N, C, H, W] → [N, C, H', W'] with (H', W') = <paramref name="outputSize"/>.</returns>
    /// <example><code>var pooled = Functional.AdaptiveAvgPool2d(features /* [8, 64, 7, 7] */, (1, 1));   // [8, 64, 1, 1]</code></example>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize)
    {
        const string op = "adaptive_avg_pool2d";
        CheckPoolInput(op, x, 2);
        var (oh, ow) = outputSize;
        if (oh <= 0 || ow <= 0)
            throw new LoomException($"{op}: output size ({oh}, {ow}) must be positive");
        var (h, w) = (x.Shape[-2], x.Shape[-1]);
        var geometry = new PatchGeometry(x.Numel / Math.Max(1, h * w), h, w, oh, ow, 1, 1, 1, 1, 0, 0, 1, 1);
        var y = Tensor.Empty(PooledShape(x.Shape, 2, oh, ow), x.DType);
        if (x.DType == DType.Float32) PoolKernels.AdaptiveAvgForward<float>(x.Data<float>(), geometry, y.Data<float>());
        else PoolKernels.AdaptiveAvgForward<double>(x.Data<double>(), geometry, y.Data<double>());
        return Autograd.Record(y, op, x, grad =>
        {
            // ∂x = each G[i, j] spread evenly over its window.
            var g = grad.DType == x.DType ? grad : grad.To(x.DType);
            var gx = x.EmptyLike();
            if (x.DType == DType.Float32) PoolKernels.AdaptiveAvgBackward<float>(g.Data<float>(), geometry, gx.Data<float>());
            else PoolKernels.AdaptiveAvgBackward<double>(g.Data<double>(), geometry, gx.Data<double>());
            return gx;
        });
    }

    /// <summary>Adaptive 2-D average pooling to a square output.</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => AdaptiveAvgPool2d(x, (outputSize, outputSize));

    /// <summary>Max pooling; unless the caller asked for the indices they are the node's private scratch (recycled
    /// after its backward, or at once when nothing is recorded).</summary>
    private static (Tensor Values, Tensor Indices) MaxPool(string op, Tensor x, PatchGeometry geometry, Shape yShape, bool exposeIndices)
    {
        var y = Tensor.Empty(yShape, x.DType);
        var indices = Tensor.Empty(yShape, DType.Int32);
        if (x.DType == DType.Float32) PoolKernels.MaxForward<float>(x.Data<float>(), geometry, y.Data<float>(), indices.Data<int>());
        else PoolKernels.MaxForward<double>(x.Data<double>(), geometry, y.Data<double>(), indices.Data<int>());
        var values = Autograd.Record(y, op, x, grad =>
        {
            // ∂x[argmax] += G: the gradient is routed to the element that won each window.
            var g = grad.DType == x.DType ? grad : grad.To(x.DType);
            var gx = x.EmptyLike();
            if (x.DType == DType.Float32) PoolKernels.MaxBackward<float>(g.Data<float>(), indices.Data<int>(), geometry, gx.Data<float>());
            else PoolKernels.MaxBackward<double>(g.Data<double>(), indices.Data<int>(), geometry, gx.Data<double>());
            return gx;
        });
        if (!exposeIndices)
        {
            if (values.GradFn is { } node) node.Own(indices);
            else
            {
                var storage = indices.Storage;
                indices.Release();
                StoragePool.Return(storage);
            }
        }
        return (values, indices);
    }

    private static Tensor AvgPool(string op, Tensor x, PatchGeometry geometry, (int Bottom, int Right) padHigh, bool countIncludePad, int divisor, Shape yShape)
    {
        var y = Tensor.Empty(yShape, x.DType);
        if (x.DType == DType.Float32) AvgForward<float>(x, geometry, padHigh, countIncludePad, divisor, y);
        else AvgForward<double>(x, geometry, padHigh, countIncludePad, divisor, y);
        return Autograd.Record(y, op, x, grad =>
        {
            // ∂x[window] += G / divisor, with the same divisor as the forward.
            var g = grad.DType == x.DType ? grad : grad.To(x.DType);
            var gx = x.EmptyLike();
            if (x.DType == DType.Float32) PoolKernels.AvgBackward<float>(g.Data<float>(), geometry, padHigh.Bottom, padHigh.Right, countIncludePad, divisor, gx.Data<float>());
            else PoolKernels.AvgBackward<double>(g.Data<double>(), geometry, padHigh.Bottom, padHigh.Right, countIncludePad, divisor, gx.Data<double>());
            return gx;
        });
    }

    private static void AvgForward<T>(Tensor x, PatchGeometry geometry, (int Bottom, int Right) padHigh, bool countIncludePad, int divisor, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        PoolKernels.AvgForward<T>(x.Data<T>(), geometry, padHigh.Bottom, padHigh.Right, countIncludePad, divisor, y.Data<T>());

    private static void CheckPoolInput(string op, Tensor x, int spatialRank)
    {
        Tensor.RequireFloat(x, op);
        var layout = spatialRank == 1 ? "[N, C, L] (or unbatched [C, L])" : "[N, C, H, W] (or unbatched [C, H, W])";
        if (x.Rank != spatialRank + 1 && x.Rank != spatialRank + 2)
            throw new LoomException($"{op}: input must be {layout}, found {x.Shape}");
    }

    private static void CheckHalfKernelPadding(string op, int padding, int kernel, string axisName)
    {
        if (kernel > 0 && padding > kernel / 2)
            throw new LoomException($"{op}: padding {padding} along {axisName} must be at most half the kernel size {kernel} (PyTorch requires padding ≤ kernel/2 = {kernel / 2})");
    }

    private static int CheckDivisor(string op, int? divisorOverride)
    {
        if (divisorOverride is { } d && d <= 0)
            throw new LoomException($"{op}: divisor_override must be positive, found {d}");
        return divisorOverride ?? 0;
    }

    /// <summary>The input's leading axes followed by the pooled sizes (H', W') or (L').</summary>
    private static Shape PooledShape(Shape input, int spatialRank, int oh, int ow)
    {
        var dims = input.ToArray();
        if (spatialRank == 2) (dims[^2], dims[^1]) = (oh, ow);
        else dims[^1] = ow;
        return new Shape(dims);
    }
}
