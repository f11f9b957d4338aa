namespace Loom.Nn;

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch) over (N, C, H, W).
/// Args: in_channels, out_channels, kernel (kH, kW), options (stride, per-side padding top/bottom/left/right,
/// dilation, groups), bias. Weight [out, in/groups, kH, kW] and bias start Kaiming-uniform (a = √5), as PyTorch.
/// Shape: (N, C_in, H, W) → (N, C_out, H', W') with H' = floor((H + p_top + p_bottom − dH·(kH − 1) − 1)/sH) + 1
/// (see <see cref="Geometry.ConvGeometry"/>).
/// </summary>
/// <example><code>var conv = new Conv2d(1, 32, 3, padding: 1);  // [N, 1, 28, 28] → [N, 32, 28, 28]</code></example>
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, Conv2dOptions? options = null, bool bias = true, Generator? generator = null)
    {
        Options = options ?? new Conv2dOptions();
        var g = Options.Groups;
        if (inChannels <= 0 || outChannels <= 0 || kernel.H <= 0 || kernel.W <= 0)
            throw new LoomException($"conv2d: channels ({inChannels}, {outChannels}) and kernel {kernel.H}x{kernel.W} must be positive");
        if (g <= 0 || inChannels % g != 0 || outChannels % g != 0)
            throw new LoomException($"conv2d: in_channels {inChannels} and out_channels {outChannels} must both be divisible by groups {g}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        var w = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / g, kernel.H, kernel.W));
        Init.KaimingUniform_(w, generator: generator);
        if (bias) Init.BiasUniform_(RegisterParameter("bias", Tensor.Zeros(outChannels)), Init.FanIn(w), generator);
        HasBias = bias;
    }

    /// <summary>Square kernel, symmetric padding.</summary>
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true, Generator? generator = null)
        : this(inChannels, outChannels, (kernel, kernel),
            new Conv2dOptions { Stride = (stride, stride), Padding = (padding, padding, padding, padding), Dilation = (dilation, dilation), Groups = groups },
            bias, generator)
    {
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public (int H, int W) Kernel { get; }

    public Conv2dOptions Options { get; }

    public bool HasBias { get; }

    public Tensor Weight => Get("weight");

    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Options);

    public override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({Kernel.H}, {Kernel.W}), stride=({Options.Stride.H}, {Options.Stride.W}), padding={Options.Padding}" +
        (Options.Dilation != (1, 1) ? $", dilation=({Options.Dilation.H}, {Options.Dilation.W})" : "") +
        (Options.Groups != 1 ? $", groups={Options.Groups}" : "") + (HasBias ? "" : ", bias=False");
}

/// <summary>
/// 1-D convolution over (N, C, L). Weight [out, in/groups, k].
/// Shape: (N, C_in, L) → (N, C_out, L') with L' = floor((L + p_left + p_right − d·(k − 1) − 1)/s) + 1.
/// </summary>
/// <example><code>var conv = new Conv1d(5, 1, 3, stride: 2);  // [N, 5, 7] → [N, 1, 3]</code></example>
public sealed class Conv1d : Module
{
    public Conv1d(int inChannels, int outChannels, int kernel, Conv1dOptions? options = null, bool bias = true, Generator? generator = null)
    {
        Options = options ?? new Conv1dOptions();
        var g = Options.Groups;
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0)
            throw new LoomException($"conv1d: channels ({inChannels}, {outChannels}) and kernel {kernel} must be positive");
        if (g <= 0 || inChannels % g != 0 || outChannels % g != 0)
            throw new LoomException($"conv1d: in_channels {inChannels} and out_channels {outChannels} must both be divisible by groups {g}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        var w = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / g, kernel));
        Init.KaimingUniform_(w, generator: generator);
        if (bias) Init.BiasUniform_(RegisterParameter("bias", Tensor.Zeros(outChannels)), Init.FanIn(w), generator);
        HasBias = bias;
    }

    /// <summary>Symmetric padding.</summary>
    public Conv1d(int inChannels, int outChannels, int kernel, int stride, int padding = 0, int dilation = 1, int groups = 1, bool bias = true, Generator? generator = null)
        : this(inChannels, outChannels, kernel, new Conv1dOptions { Stride = stride, Padding = (padding, padding), Dilation = dilation, Groups = groups }, bias, generator)
    {
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public int Kernel { get; }

    public Conv1dOptions Options { get; }

    public bool HasBias { get; }

    public Tensor Weight => Get("weight");

    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor input) => Functional.Conv1d(input, Weight, Bias, Options);

    public override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({Kernel},), stride=({Options.Stride},), padding={Options.Padding}" + (HasBias ? "" : ", bias=False");
}

/// <summary>
/// Transposed 2-D convolution (the adjoint of Conv2d). Weight [in, out/groups, kH, kW] as PyTorch.
/// Shape: (N, C_in, H, W) → (N, C_out, H', W') with H' = (H − 1)·sH − p_top − p_bottom + dH·(kH − 1) + output_padding + 1.
/// </summary>
public sealed class ConvTranspose2d : Module
{
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernel, ConvTranspose2dOptions? options = null, bool bias = true, Generator? generator = null)
    {
        Options = options ?? new ConvTranspose2dOptions();
        var g = Options.Groups;
        if (inChannels <= 0 || outChannels <= 0 || kernel.H <= 0 || kernel.W <= 0)
            throw new LoomException($"conv_transpose2d: channels ({inChannels}, {outChannels}) and kernel {kernel.H}x{kernel.W} must be positive");
        if (g <= 0 || inChannels % g != 0 || outChannels % g != 0)
            throw new LoomException($"conv_transpose2d: in_channels {inChannels} and out_channels {outChannels} must both be divisible by groups {g}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        var w = RegisterParameter("weight", Tensor.Zeros(inChannels, outChannels / g, kernel.H, kernel.W));
        Init.KaimingUniform_(w, generator: generator);
        // PyTorch computes fan_in from weight.size(1)·kH·kW for transposed convs too.
        if (bias) Init.BiasUniform_(RegisterParameter("bias", Tensor.Zeros(outChannels)), Init.FanIn(w), generator);
        HasBias = bias;
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public (int H, int W) Kernel { get; }

    public ConvTranspose2dOptions Options { get; }

    public bool HasBias { get; }

    public Tensor Weight => Get("weight");

    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor input) => Functional.ConvTranspose2d(input, Weight, Bias, Options);

    public override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({Kernel.H}, {Kernel.W}), stride=({Options.Stride.H}, {Options.Stride.W})";
}
