using System.Numerics;
using System.Runtime.CompilerServices;
using Loom.Geometry;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// Convolution (PyTorch's cross-correlation), 1-D and 2-D, and 2-D transposed convolution, forward and backward.
/// For one group, with K = (C/G)·kH·kW and P = outH·outW window positions (problem 1.1 of the seed):
/// <code>
///   y[n,f,i,j]  = b[f] + Σ_c Σ_kh Σ_kw W[f,c,kh,kw] · x[n,c, i·sH − pT + kh·dH, j·sW − pL + kw·dW]   (x = 0 outside)
///               i.e. Y[n] = W · cols(x[n])                       (W as F×K, cols = im2col, K×P)
///   ∂ℓ/∂W[f,c,kh,kw] = Σ_n Σ_i Σ_j G[n,f,i,j] · x[n,c, i·sH − pT + kh·dH, …]
///               i.e. ∂W = Σ_n G[n] · cols(x[n])ᵀ               (correlation of the input with ∂ℓ/∂y)
///   ∂ℓ/∂x[n,c,u,v]   = Σ_f Σ_kh Σ_kw G[n,f,i,j] · W[f,c,kh,kw] over i·sH − pT + kh·dH = u, j·sW − pL + kw·dW = v
///               i.e. ∂x[n] = col2im(Wᵀ · G[n])                  (full convolution of ∂ℓ/∂y with the flipped kernel,
///                                                                 G dilated by the stride, the kernel by the dilation)
///   ∂ℓ/∂b[f]    = Σ_n Σ_i Σ_j G[n,f,i,j]
/// </code>
/// The transposed convolution swaps the roles: its forward is the conv's ∂x product, its ∂x the conv's forward.
/// All heavy work is <see cref="Gemm"/> calls on im2col columns (<see cref="ConvKernels"/>).
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// 2-D convolution (cross-correlation) with symmetric padding, as PyTorch's <c>F.conv2d</c>.
    /// </summary>
    /// <param name="x">Input [N, C, H, W] (or unbatched [C, H, W]).</param>
    /// <param name="weight">Filters [F, C/groups, kH, kW].</param>
    /// <param name="bias">Optional [F].</param>
    /// <param name="stride">Step between windows on both axes.</param>
    /// <param name="padding">Zeros added on every side.</param>
    /// <param name="dilation">Spacing between kernel taps on both axes.</param>
    /// <param name="groups">Channel groups (C and F divisible by it).</param>
    /// <returns>
    /// Shape: [N, F, H', W'] with H' = floor((H + p_top + p_bottom − dH·(kH − 1) − 1)/sH) + 1, likewise W'
    /// (<see cref="ConvGeometry.OutputSize"/>).
    /// </returns>
    /// <example><code>var y = Functional.Conv2d(Tensor.Ones(1, 1, 21, 12), Tensor.Ones(1, 1, 4, 5), stride: 4);   // [1, 1, 5, 2]</code></example>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(x, weight, bias, new Conv2dOptions
        {
            Stride = (stride, stride),
            Padding = (padding, padding, padding, padding),
            Dilation = (dilation, dilation),
            Groups = groups,
        });

    /// <summary>2-D convolution with per-axis stride and dilation and per-side padding (top, bottom, left, right).</summary>
    /// <returns>Shape: [N, F, H', W'], H' = floor((H + top + bottom − dH·(kH − 1) − 1)/sH) + 1, W' likewise with left, right.</returns>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride,
        (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation, int groups = 1) =>
        Conv2d(x, weight, bias, new Conv2dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups });

    /// <summary>
    /// 2-D convolution with all settings in <paramref name="options"/>.
    /// Args: x [N, C, H, W] or [C, H, W]; weight [F, C/groups, kH, kW]; bias [F] or null.
    /// Shape: [N, F, H', W'] with H' = floor((H + p_top + p_bottom − dH·(kH − 1) − 1)/sH) + 1 and
    /// W' = floor((W + p_left + p_right − dW·(kW − 1) − 1)/sW) + 1.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options)
    {
        const string op = "conv2d";
        var (x4, unbatched, plan, yShape) = Conv2dPlan(op, x, weight, bias, options);
        var y = Convolve(op, x4, weight, bias, plan, yShape);
        return unbatched ? Squeeze(y, 0) : y;
    }

    /// <summary>Checks a 2-D convolution's operands and plans it: the batched input, its GEMM plan and y's shape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static (Tensor X4, bool Unbatched, ConvPlan Plan, Shape YShape) Conv2dPlan(string op, Tensor x, Tensor weight, Tensor? bias,
        Conv2dOptions options)
    {
        var (x4, unbatched) = ConvInput(op, x, weight, bias, spatialRank: 2, options.Groups);
        var (n, c, h, w) = (x4.Shape[0], x4.Shape[1], x4.Shape[2], x4.Shape[3]);
        var (f, kh, kw) = (weight.Shape[0], weight.Shape[2], weight.Shape[3]);
        var (pad, s, d) = (options.Padding, options.Stride, options.Dilation);
        var oh = ConvGeometry.OutputSize(h, kh, s.H, pad.Top, pad.Bottom, d.H, op: op, axisName: "height");
        var ow = ConvGeometry.OutputSize(w, kw, s.W, pad.Left, pad.Right, d.W, op: op, axisName: "width");
        var plan = new ConvPlan(n, options.Groups, f, new PatchGeometry(c, h, w, oh, ow, kh, kw, s.H, s.W, pad.Top, pad.Left, d.H, d.W));
        return (x4, unbatched, plan, new Shape(n, f, oh, ow));
    }

    /// <summary>
    /// 1-D convolution (cross-correlation) with symmetric padding, as PyTorch's <c>F.conv1d</c>.
    /// Args: x [N, C, L] or [C, L]; weight [F, C/groups, k]; bias [F] or null.
    /// </summary>
    /// <returns>Shape: [N, F, L'] with L' = floor((L + 2·padding − dilation·(k − 1) − 1)/stride) + 1.</returns>
    /// <example><code>var f = Functional.Conv1d(x /* [1, 5, 7] */, w /* [1, 5, 3] */, stride: 2);   // [1, 1, 3]</code></example>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv1d(x, weight, bias, new Conv1dOptions { Stride = stride, Padding = (padding, padding), Dilation = dilation, Groups = groups });

    /// <summary>1-D convolution with per-side padding (left, right).</summary>
    /// <returns>Shape: [N, F, L'] with L' = floor((L + left + right − dilation·(k − 1) − 1)/stride) + 1.</returns>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias, int stride, (int Left, int Right) padding, int dilation = 1, int groups = 1) =>
        Conv1d(x, weight, bias, new Conv1dOptions { Stride = stride, Padding = padding, Dilation = dilation, Groups = groups });

    /// <summary>
    /// 1-D convolution with all settings in <paramref name="options"/>; computed as a 2-D convolution of height 1.
    /// Shape: [N, C, L] → [N, F, L'], L' = floor((L + p_left + p_right − d·(k − 1) − 1)/s) + 1.
    /// </summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias, Conv1dOptions options)
    {
        const string op = "conv1d";
        var (x3, unbatched) = ConvInput(op, x, weight, bias, spatialRank: 1, options.Groups);
        var (n, c, l) = (x3.Shape[0], x3.Shape[1], x3.Shape[2]);
        var (f, k) = (weight.Shape[0], weight.Shape[2]);
        var pad = options.Padding;
        var ol = ConvGeometry.OutputSize(l, k, options.Stride, pad.Left, pad.Right, options.Dilation, op: op, axisName: "length");
        var plan = new ConvPlan(n, options.Groups, f, new PatchGeometry(c, 1, l, 1, ol, 1, k, 1, options.Stride, 0, pad.Left, 1, options.Dilation));
        var y = Convolve(op, x3, weight, bias, plan, new Shape(n, f, ol));
        return unbatched ? Squeeze(y, 0) : y;
    }

    /// <summary>
    /// 2-D transposed convolution (the adjoint of <see cref="Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions)"/>), as PyTorch's
    /// <c>F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)</c>.
    /// Args: x [N, C_in, H, W] or [C_in, H, W]; weight [C_in, C_out/groups, kH, kW]; bias [C_out] or null.
    /// </summary>
    /// <returns>Shape: [N, C_out, H', W'] with H' = (H − 1)·sH − 2·padding + dH·(kH − 1) + output_padding + 1, likewise W'.</returns>
    /// <example><code>var up = Functional.ConvTranspose2d(x /* [1, 8, 7, 7] */, w /* [8, 4, 4, 4] */, stride: 2, padding: 1);   // [1, 4, 14, 14]</code></example>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, int dilation = 1) =>
        ConvTranspose2d(x, weight, bias, new ConvTranspose2dOptions
        {
            Stride = (stride, stride),
            Padding = (padding, padding, padding, padding),
            OutputPadding = (outputPadding, outputPadding),
            Dilation = (dilation, dilation),
            Groups = groups,
        });

    /// <summary>
    /// 2-D transposed convolution with all settings in <paramref name="options"/> (per-side padding crops the full output).
    /// Shape: [N, C_in, H, W] → [N, C_out, H', W'] with H' = (H − 1)·sH − p_top − p_bottom + dH·(kH − 1) + output_padding_H + 1
    /// (<see cref="ConvGeometry.TransposedOutputSize"/>), likewise W'.
    /// y[n, o, i·sH − pT + kh·dH, j·sW − pL + kw·dW] += x[n, c, i, j] · W[c, o, kh, kw]: Y[n] = col2im(Wᵀ · x[n]).
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias, ConvTranspose2dOptions options)
    {
        const string op = "conv_transpose2d";
        var groups = options.Groups;
        var (x4, unbatched) = ConvTransposeInput(op, x, weight, bias, groups);
        var (n, cin, h, w) = (x4.Shape[0], x4.Shape[1], x4.Shape[2], x4.Shape[3]);
        var (cout, kh, kw) = (weight.Shape[1] * groups, weight.Shape[2], weight.Shape[3]);
        var (pad, s, d, op2) = (options.Padding, options.Stride, options.Dilation, options.OutputPadding);
        var oh = ConvGeometry.TransposedOutputSize(h, kh, s.H, pad.Top, pad.Bottom, d.H, op2.H, op: op, axisName: "height");
        var ow = ConvGeometry.TransposedOutputSize(w, kw, s.W, pad.Left, pad.Right, d.W, op2.W, op: op, axisName: "width");
        // The image side of the GEMM plan is the output y [C_out, H', W']; the window positions are x's H × W pixels.
        var plan = new ConvPlan(n, groups, cin, new PatchGeometry(cout, oh, ow, h, w, kh, kw, s.H, s.W, pad.Top, pad.Left, d.H, d.W));
        var y = ConvolveTransposed(op, x4, weight, bias, plan, new Shape(n, cout, oh, ow));
        return unbatched ? Squeeze(y, 0) : y;
    }

    /// <summary>Y = W · cols(x) + b and its backward (see the class summary).</summary>
    private static Tensor Convolve(string op, Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape yShape) =>
        x.DType == DType.Float32
            ? Convolve<float>(op, x, weight, bias, plan, yShape)
            : Convolve<double>(op, x, weight, bias, plan, yShape);

    private static Tensor Convolve<T>(string op, Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape yShape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor.Empty(yShape, x.DType);
        ConvKernels.Correlate<T>(x.Data<T>(), weight.Data<T>(), bias is null ? default : bias.Data<T>(), plan, y.Data<T>());
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, op, inputs, grad => ConvolveBackward<T>(grad.DType == x.DType ? grad : grad.To(x.DType), x, weight, bias, plan));
    }

    /// <summary>The gradients of Y = W · cols(x) + b from G = ∂ℓ/∂Y (null where no gradient is needed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static Tensor?[] ConvolveBackward<T>(Tensor g, Tensor x, Tensor weight, Tensor? bias, ConvPlan plan)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor? gx = null, gw = null, gb = null;
        if (x.RequiresGrad)
        {
            // ∂x[n] = col2im(Wᵀ · G[n]): the full convolution of G with the flipped kernel.
            gx = x.EmptyLike();
            ConvKernels.CorrelateAdjoint<T>(g.Data<T>(), weight.Data<T>(), default, plan, gx.Data<T>());
        }
        if (weight.RequiresGrad)
        {
            // ∂W = Σ_n G[n] · cols(x[n])ᵀ: the correlation of the input with G; ∂b's sums ride along (G in cache).
            gw = weight.EmptyLike();
            gb = bias is { RequiresGrad: true } ? bias.EmptyLike() : null;
            ConvKernels.WeightGradient<T>(x.Data<T>(), g.Data<T>(), plan, gw.Data<T>(), gb is null ? default : gb.Data<T>());
        }
        if (bias is { RequiresGrad: true } && gb is null)
        {
            // ∂b[f] = Σ_n Σ_p G[n, f, p].
            gb = bias.EmptyLike();
            ConvKernels.ChannelSums<T>(g.Data<T>(), plan.Batch, plan.OutChannels, plan.Patch.Columns, gb.Data<T>());
        }
        return bias is null ? [gx, gw] : [gx, gw, gb];
    }

    /// <summary>Y = col2im(Wᵀ · x) + b (transposed convolution) and its backward.</summary>
    private static Tensor ConvolveTransposed(string op, Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape yShape) =>
        x.DType == DType.Float32
            ? ConvolveTransposed<float>(op, x, weight, bias, plan, yShape)
            : ConvolveTransposed<double>(op, x, weight, bias, plan, yShape);

    private static Tensor ConvolveTransposed<T>(string op, Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape yShape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor.Empty(yShape, x.DType);
        ConvKernels.CorrelateAdjoint<T>(x.Data<T>(), weight.Data<T>(), bias is null ? default : bias.Data<T>(), plan, y.Data<T>());
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, op, inputs, grad =>
        {
            var g = grad.DType == x.DType ? grad : grad.To(x.DType);
            Tensor? gx = null, gw = null, gb = null;
            if (x.RequiresGrad)
            {
                // ∂x[n] = W · cols(G[n]): an ordinary convolution of G with the same kernel, stride, padding, dilation.
                gx = x.EmptyLike();
                ConvKernels.Correlate<T>(g.Data<T>(), weight.Data<T>(), default, plan, gx.Data<T>());
            }
            if (weight.RequiresGrad)
            {
                // ∂W = Σ_n x[n] · cols(G[n])ᵀ.
                gw = weight.EmptyLike();
                ConvKernels.WeightGradient<T>(g.Data<T>(), x.Data<T>(), plan, gw.Data<T>());
            }
            if (bias is { RequiresGrad: true })
            {
                gb = bias.EmptyLike();
                var p = plan.Patch;
                ConvKernels.ChannelSums<T>(g.Data<T>(), plan.Batch, p.Channels, p.Height * p.Width, gb.Data<T>());
            }
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    /// <summary>Checks types, ranks, channels, groups and bias of a convolution; returns the batched input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static (Tensor Batched, bool Unbatched) ConvInput(string op, Tensor x, Tensor weight, Tensor? bias, int spatialRank, int groups)
    {
        var layout = spatialRank == 1 ? "[N, C, L]" : "[N, C, H, W]";
        var unbatchedLayout = spatialRank == 1 ? "[C, L]" : "[C, H, W]";
        var kernelLayout = spatialRank == 1 ? "k" : "kH, kW";
        CheckConvTypes(op, x, weight, bias);
        if (x.Rank != spatialRank + 2 && x.Rank != spatialRank + 1)
            throw new LoomException($"{op}: input must be {layout} (or unbatched {unbatchedLayout}), found {x.Shape}");
        if (weight.Rank != spatialRank + 2)
            throw new LoomException($"{op}: weight must be [out_channels, in_channels/groups, {kernelLayout}], found {weight.Shape}");
        if (groups < 1)
            throw new LoomException($"{op}: groups must be positive, found {groups}");
        var unbatched = x.Rank == spatialRank + 1;
        var channels = x.Shape[unbatched ? 0 : 1];
        var (f, cg) = (weight.Shape[0], weight.Shape[1]);
        if (f % groups != 0)
            throw new LoomException($"{op}: out_channels {f} of weight {weight.Shape} is not divisible by groups {groups}");
        if (channels != cg * groups)
            throw new LoomException($"{op}: input {x.Shape} has {channels} channels but weight {weight.Shape} expects {cg * groups} (= in_channels/groups {cg} × groups {groups})");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != f))
            throw new LoomException($"{op}: bias must be [{f}] (one value per output channel of weight {weight.Shape}), found {bias.Shape}");
        return (unbatched ? Unsqueeze(x, 0) : x, unbatched);
    }

    private static (Tensor Batched, bool Unbatched) ConvTransposeInput(string op, Tensor x, Tensor weight, Tensor? bias, int groups)
    {
        CheckConvTypes(op, x, weight, bias);
        if (x.Rank is not (3 or 4))
            throw new LoomException($"{op}: input must be [N, C_in, H, W] (or unbatched [C_in, H, W]), found {x.Shape}");
        if (weight.Rank != 4)
            throw new LoomException($"{op}: weight must be [in_channels, out_channels/groups, kH, kW], found {weight.Shape}");
        if (groups < 1)
            throw new LoomException($"{op}: groups must be positive, found {groups}");
        var unbatched = x.Rank == 3;
        var channels = x.Shape[unbatched ? 0 : 1];
        if (channels != weight.Shape[0])
            throw new LoomException($"{op}: input {x.Shape} has {channels} channels but weight {weight.Shape} expects {weight.Shape[0]} (its first axis is in_channels)");
        if (channels % groups != 0)
            throw new LoomException($"{op}: in_channels {channels} of weight {weight.Shape} is not divisible by groups {groups}");
        var cout = weight.Shape[1] * groups;
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != cout))
            throw new LoomException($"{op}: bias must be [{cout}] (= out_channels/groups {weight.Shape[1]} × groups {groups}), found {bias.Shape}");
        return (unbatched ? Unsqueeze(x, 0) : x, unbatched);
    }

    private static void CheckConvTypes(string op, Tensor x, Tensor weight, Tensor? bias)
    {
        Tensor.RequireFloat(x, op);
        Tensor.RequireSameDType(x, weight, op);
        if (bias is not null) Tensor.RequireSameDType(x, bias, op);
    }
}
