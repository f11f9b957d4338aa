namespace Loom.Geometry;

/// <summary>
/// The output-size formula of convolution and pooling, in one place, used by the ops, the modules,
/// <c>loom shape</c> and <c>loom summary</c>. Per axis:
/// <c>L' = floor((L + p_lo + p_hi − d·(k − 1) − 1) / s) + 1</c> (ceil instead of floor in ceil mode, with
/// PyTorch's rule that the last window must start inside the input or the left padding).
/// </summary>
public static class ConvGeometry
{
    /// <summary>
    /// Output length along one axis. Throws a <see cref="LoomException"/> naming <paramref name="op"/> and
    /// <paramref name="axisName"/> when a size is not positive or the padded input is smaller than the dilated kernel.
    /// </summary>
    public static int OutputSize(int length, int kernel, int stride = 1, int padLow = 0, int padHigh = 0, int dilation = 1,
        bool ceilMode = false, string op = "conv", string axisName = "length")
    {
        Validate(length, kernel, stride, padLow, padHigh, dilation, op, axisName);
        var padded = length + padLow + padHigh;
        var span = DilatedKernel(kernel, dilation);
        if (padded < span)
            throw new LoomException($"{op}: padded {axisName} {padded} (= {length} + {padLow} + {padHigh}) is smaller than the dilated kernel {span} (D·(K−1)+1 = {dilation}·({kernel}−1)+1)");
        var numerator = padded - span;
        var size = ceilMode ? CeilDiv(numerator, stride) + 1 : numerator / stride + 1;
        // PyTorch: in ceil mode the last window must start inside the input or the left padding.
        if (ceilMode && (size - 1) * stride >= length + padLow) size--;
        return size;
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
        var size = (length - 1) * stride - padLow - padHigh + DilatedKernel(kernel, dilation) + outputPadding;
        if (size <= 0)
            throw new LoomException($"{op}: output {axisName} {size} is not positive ((L−1)·s − p_lo − p_hi + D·(K−1) + output_padding + 1 with L={length}, s={stride}, p={padLow}+{padHigh}, D={dilation}, K={kernel})");
        return size;
    }

    /// <summary>
    /// Per-side padding that keeps the output length equal to the input at stride 1 ("same"): total d·(k − 1);
    /// when odd, the extra pixel goes after (high side), as TensorFlow/ONNX SAME_UPPER.
    /// </summary>
    public static (int Low, int High) SamePadding(int kernel, int dilation = 1, int stride = 1, string op = "conv")
    {
        if (stride != 1)
            throw new LoomException($"{op}: padding 'same' needs stride 1 (as in PyTorch), found stride {stride}");
        var total = dilation * (kernel - 1);
        return (total / 2, total - total / 2);
    }

    private static void Validate(int length, int kernel, int stride, int padLow, int padHigh, int dilation, string op, string axisName)
    {
        if (length <= 0) throw new LoomException($"{op}: input {axisName} must be positive, found {length}");
        if (kernel <= 0) throw new LoomException($"{op}: kernel size along {axisName} must be positive, found {kernel}");
        if (stride <= 0) throw new LoomException($"{op}: stride along {axisName} must be positive, found {stride}");
        if (dilation <= 0) throw new LoomException($"{op}: dilation along {axisName} must be positive, found {dilation}");
        if (padLow < 0 || padHigh < 0) throw new LoomException($"{op}: padding along {axisName} must be non-negative, found {padLow},{padHigh}");
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
