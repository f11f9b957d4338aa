namespace Loom.Nn;

/// <summary>
/// 2-D max pooling. Shape: (N, C, H, W) → (N, C, H', W'), H' = floor((H + 2p − d·(k − 1) − 1)/s) + 1 (ceil in ceil mode).
/// </summary>
/// <example><code>var pool = new MaxPool2d(2);  // [N, 32, 28, 28] → [N, 32, 14, 14]</code></example>
public sealed class MaxPool2d(MaxPool2dOptions options) : Module
{
    public MaxPool2d(int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this(new MaxPool2dOptions((kernel, kernel))
        {
            Stride = stride is { } s ? (s, s) : null,
            Padding = (padding, padding),
            Dilation = (dilation, dilation),
            CeilMode = ceilMode,
        })
    {
    }

    public MaxPool2dOptions Options { get; } = options;

    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, Options);

    public override string ExtraRepr() =>
        $"kernel_size={Options.Kernel}, stride={Options.Stride ?? Options.Kernel}, padding={Options.Padding}, ceil_mode={(Options.CeilMode ? "True" : "False")}";
}

/// <summary>2-D average pooling. Shape as <see cref="MaxPool2d"/> (dilation 1).</summary>
public sealed class AvgPool2d(AvgPool2dOptions options) : Module
{
    public AvgPool2d(int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
        : this(new AvgPool2dOptions((kernel, kernel))
        {
            Stride = stride is { } s ? (s, s) : null,
            Padding = (padding, padding),
            CeilMode = ceilMode,
            CountIncludePad = countIncludePad,
        })
    {
    }

    public AvgPool2dOptions Options { get; } = options;

    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, Options);

    public override string ExtraRepr() => $"kernel_size={Options.Kernel}, stride={Options.Stride ?? Options.Kernel}, padding={Options.Padding}";
}

/// <summary>1-D max pooling over (N, C, L).</summary>
public sealed class MaxPool1d(int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    public int Kernel { get; } = kernel;

    public int Stride { get; } = stride ?? kernel;

    public int Padding { get; } = padding;

    public int Dilation { get; } = dilation;

    public bool CeilMode { get; } = ceilMode;

    public override Tensor Forward(Tensor input) => Functional.MaxPool1d(input, Kernel, Stride, Padding, Dilation, CeilMode);

    public override string ExtraRepr() => $"kernel_size={Kernel}, stride={Stride}, padding={Padding}";
}

/// <summary>1-D average pooling over (N, C, L).</summary>
public sealed class AvgPool1d(int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) : Module
{
    public int Kernel { get; } = kernel;

    public int Stride { get; } = stride ?? kernel;

    public int Padding { get; } = padding;

    public bool CeilMode { get; } = ceilMode;

    public bool CountIncludePad { get; } = countIncludePad;

    public override Tensor Forward(Tensor input) => Functional.AvgPool1d(input, Kernel, Stride, Padding, CeilMode, CountIncludePad);

    public override string ExtraRepr() => $"kernel_size={Kernel}, stride={Stride}, padding={Padding}";
}

/// <summary>Adaptive average pooling to a fixed output size. Shape: (N, C, H, W) → (N, C, oH, oW).</summary>
public sealed class AdaptiveAvgPool2d((int H, int W) outputSize) : Module
{
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize)) { }

    public (int H, int W) OutputSize { get; } = outputSize;

    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, OutputSize);

    public override string ExtraRepr() => $"output_size={OutputSize}";
}
