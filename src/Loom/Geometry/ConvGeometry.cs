using System.Runtime.CompilerServices;
namespace Loom.Geometry;

/// <summary>
/// The output-size formula of convolution and pooling, in one place, used by the ops, the modules,
/// <c>loom shape</c> and <c>loom summary</c>. Per axis:
/// <c>L' = floor((L + p_lo + p_hi − d·(k − 1) − 1) / s) + 1</c> (ceil instead of floor in ceil mode, with
/// PyTorch's rule that the last window must start inside the input or the left padding).
/// </summary>
/// <example>
/// The seed's example, a 21×12 input, kernel 4×5, stride 4:
/// <c>ConvGeometry.OutputSize(21, 4, stride: 4)</c> is 5 and <c>ConvGeometry.OutputSize(12, 5, stride: 4)</c> is 2.
/// </example>
public static partial class ConvGeometry
{
    /// <summary>
    /// Output length along one axis. Throws a <see cref="LoomException"/> naming <paramref name="op"/> and
    /// <paramref name="axisName"/> when a size is not positive or the padded input is smaller than the dilated kernel.
    /// </summary>
    public static int OutputSize(int length, int kernel, int stride = 1, int padLow = 0, int padHigh = 0, int dilation = 1,
        bool ceilMode = false, string op = "conv", string axisName = "length")
        => Compute(length, kernel, stride, padLow, padHigh, dilation, ceilMode, op, axisName).Output;

    /// <summary>
    /// Output length of a pooling window along one axis: <see cref="OutputSize"/> after PyTorch's pooling check that
    /// each side's padding is at most half the kernel (<c>p ≤ k/2</c>), so that no window lies in the padding alone.
    /// </summary>
    public static int PoolOutputSize(int length, int kernel, int stride, int padLow = 0, int padHigh = 0, int dilation = 1,
        bool ceilMode = false, string op = "pool", string axisName = "length")
    {
        Validate(length, kernel, stride, padLow, padHigh, dilation, op, axisName);
        if (padLow > kernel / 2 || padHigh > kernel / 2)
            throw new LoomException($"{op}: padding {padLow},{padHigh} along {axisName} must be at most half the kernel (k/2 = {kernel}/2 = {kernel / 2}), as in PyTorch");
        return OutputSize(length, kernel, stride, padLow, padHigh, dilation, ceilMode, op, axisName);
    }

    /// <summary>d·(k − 1) + 1: the extent of a dilated kernel.</summary>
    public static int DilatedKernel(int kernel, int dilation) => dilation * (kernel - 1) + 1;

    /// <summary>
    /// Output length of a transposed convolution along one axis (PyTorch's ConvTranspose):
    /// <c>L' = (L − 1)·s − p_lo − p_hi + d·(k − 1) + output_padding + 1</c>; output_padding must be smaller than s or d.
    /// </summary>
    public static int TransposedOutputSize(int length, int kernel, int stride = 1, int padLow = 0, int padHigh = 0, int dilation = 1,
        int outputPadding = 0, string op = "conv_transpose", string axisName = "length")
    {
        Validate(length, kernel, stride, padLow, padHigh, dilation, op, axisName);
        if (outputPadding < 0 || (outputPadding >= stride && outputPadding >= dilation))
            throw new LoomException($"{op}: output_padding {outputPadding} along {axisName} must be non-negative and smaller than the stride {stride} or the dilation {dilation}");
        var size = (length - 1L) * stride - padLow - padHigh + Span(kernel, dilation) + outputPadding;
        if (size <= 0)
            throw new LoomException($"{op}: output {axisName} {size} is not positive ((L−1)·s − p_lo − p_hi + D·(K−1) + output_padding + 1 with L={length}, s={stride}, p={padLow}+{padHigh}, D={dilation}, K={kernel})");
        return CheckedSize(size, op, axisName);
    }

    /// <summary>
    /// Per-side padding that keeps the output length equal to the input at stride 1 ("same"): total d·(k − 1);
    /// when odd, the extra pixel goes after (high side), as TensorFlow/ONNX SAME_UPPER.
    /// </summary>
    public static (int Low, int High) SamePadding(int kernel, int dilation = 1, int stride = 1, string op = "conv")
    {
        if (stride != 1)
            throw new LoomException($"{op}: padding 'same' needs stride 1 (as in PyTorch), found stride {stride}");
        if (kernel <= 0) throw new LoomException($"{op}: kernel size must be positive, found {kernel}");
        if (dilation <= 0) throw new LoomException($"{op}: dilation must be positive, found {dilation}");
        var total = (long)dilation * (kernel - 1);
        if (total > int.MaxValue) throw new LoomException($"{op}: padding 'same' for kernel {kernel} and dilation {dilation} is {total}, too large");
        return ((int)(total / 2), (int)(total - total / 2));
    }

    /// <summary>The floor/ceil output size and whether PyTorch's ceil-mode rule dropped the last window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static (int Output, long Numerator, long Rounded, bool Dropped) Compute(int length, int kernel, int stride, int padLow, int padHigh,
        int dilation, bool ceilMode, string op, string axisName)
    {
        Validate(length, kernel, stride, padLow, padHigh, dilation, op, axisName);
        var padded = (long)length + padLow + padHigh;
        var span = Span(kernel, dilation);
        // PyTorch rounds (padded − span)/s up in ceil mode, so there a kernel that overhangs the padded input by at most
        // s − 1 still gives one window (MaxPool2d(2, ceil_mode=True) maps 1×1 to 1×1).
        if (padded < span && !(ceilMode && padded + stride - 1 >= span))
        {
            throw new LoomException($"{op}: kernel {kernel} with dilation {dilation} spans D·(K−1)+1 = {dilation}·({kernel}−1)+1 = {span} along {axisName}, "
                + $"but the padded {axisName} is {padded} (= {length} + {padLow} + {padHigh}); the formula needs padded {axisName} ≥ D·(K−1)+1"
                + (ceilMode ? $" − (s−1) = {span - stride + 1} in ceil mode" : ""));
        }
        var numerator = padded - span;
        var rounded = ceilMode ? (numerator + stride - 1) / stride : numerator / stride;
        var size = rounded + 1;
        // PyTorch: in ceil mode the last window must start inside the input or the left padding.
        var dropped = ceilMode && (size - 1) * stride >= (long)length + padLow;
        if (dropped) size--;
        return (CheckedSize(size, op, axisName), numerator, rounded, dropped);
    }

    private static long Span(int kernel, int dilation) => (long)dilation * (kernel - 1) + 1;

    private static int CheckedSize(long size, string op, string axisName)
        => size <= int.MaxValue ? (int)size : throw new LoomException($"{op}: output {axisName} {size} exceeds {int.MaxValue}");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void Validate(int length, int kernel, int stride, int padLow, int padHigh, int dilation, string op, string axisName)
    {
        if (length <= 0) throw new LoomException($"{op}: input {axisName} must be positive, found {length}");
        if (kernel <= 0) throw new LoomException($"{op}: kernel size along {axisName} must be positive, found {kernel}");
        if (stride <= 0) throw new LoomException($"{op}: stride along {axisName} must be positive, found {stride}");
        if (dilation <= 0) throw new LoomException($"{op}: dilation along {axisName} must be positive, found {dilation}");
        if (padLow < 0 || padHigh < 0) throw new LoomException($"{op}: padding along {axisName} must be non-negative, found {padLow},{padHigh}");
    }
}
