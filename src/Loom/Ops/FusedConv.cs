using System.Numerics;
using System.Runtime.CompilerServices;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// Fused layer runs, which <see cref="Nn.Sequential"/> uses for [Conv2d, ReLU], [Conv2d, ReLU, MaxPool2d] and
/// [ReLU, MaxPool2d]. With C = W·cols(x) + b the convolution (see Convolution.cs) and G = ∂ℓ/∂y:
/// <code>
///   conv+relu:        y = max(0, C)                 the ReLU in the conv's epilogue, on each chunk while it is in cache
///                     ∂ℓ/∂C = G ⊙ [y &gt; 0]            then the conv's backward; C itself is never stored
///   conv+relu+pool:   y = max(0, maxpool(C))        max(0, ·) is monotone, so it commutes with a window's max: C is
///                                                   pooled chunk by chunk in the epilogue and never stored whole
///                     ∂ℓ/∂C[argmax] += G ⊙ [y &gt; 0]  the masked gradient routed to each window's winner, then the conv's backward
///   relu+pool:        y = max(0, maxpool(x))        ∂ℓ/∂x[argmax] += G ⊙ [y &gt; 0]
/// </code>
/// The values equal the unfused layers' bit for bit: the same additions, maxima and max(0, ·) in the same order.
/// The gradients equal them too, except for the sign of some zeros: where a window's max is ≤ 0 the unfused pool may
/// pick another (zero-valued after the ReLU) winner, and its gradient is masked to ±0 either way.
/// </summary>
public static partial class Functional
{
    /// <summary>max(0, conv2d(x, weight, bias)) in one op; the same values and gradients as <see cref="Relu"/> after
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions)"/>, without keeping the pre-activation.</summary>
    /// <returns>Shape: as <see cref="Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions)"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    internal static Tensor Conv2dRelu(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options)
    {
        var (x4, unbatched, plan, yShape) = Conv2dPlan("conv2d", x, weight, bias, options);
        var y = x.DType == DType.Float32
            ? ConvRelu<float>(x4, weight, bias, plan, yShape)
            : ConvRelu<double>(x4, weight, bias, plan, yShape);
        return unbatched ? Squeeze(y, 0) : y;
    }

    private static Tensor ConvRelu<T>(Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape yShape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor.Empty(yShape, x.DType);
        var (ys, bs) = (y.Data<T>(), bias?.Data<T>());
        if (ConvKernels.ChunksWholeImages(plan))
        {
            // Each chunk's block: + b[f] and max(0, ·) while it is in cache, straight into y.
            var (f, p) = (plan.OutChannels, plan.Patch.Columns);
            ConvKernels.Correlate<T>(x.Data<T>(), weight.Data<T>(), default, plan, ys, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (wide, n0, m) =>
            {
                for (var i = 0; i < m; i++)
                {
                    for (var c = 0; c < f; c++)
                    {
                        var src = wide.Slice(c * m * p + i * p, p);
                        var dst = ys.AsSpan(((n0 + i) * f + c) * p, p);
                        if (bs is null) src.CopyTo(dst);
                        else ElementKernels.AddScalar(src, bs[c], dst);
                        ElementKernels.Relu<T>(dst, dst);
                    }
                }
            });
        }
        else
        {
            ConvKernels.Correlate<T>(x.Data<T>(), weight.Data<T>(), bias is null ? default : bs, plan, ys);
            ElementKernels.Relu<T>(ys, ys);
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, "conv2d_relu", inputs, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (grad) =>
        {
            // ∂ℓ/∂C = G where y > 0, then the convolution's backward.
            var g = MaskWhere(grad.DType == x.DType ? grad : grad.To(x.DType), y, otherwise: 0);
            var grads = ConvolveBackward<T>(g, x, weight, bias, plan);
            Recycle(g);
            return grads;
        });
    }

    /// <summary>max_pool2d(max(0, conv2d(x, weight, bias))) in one op, computed as max(0, max_pool2d(conv2d(…))) with
    /// the pooling in the conv's epilogue: the conv's full output is never stored.</summary>
    /// <returns>Shape: the max pooling's output over the convolution's output shape.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    internal static Tensor Conv2dReluMaxPool2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions conv, MaxPool2dOptions pool)
    {
        var (x4, unbatched, plan, cShape) = Conv2dPlan("conv2d", x, weight, bias, conv);
        var (geometry, yShape) = MaxPool2dPlan("max_pool2d", cShape, pool);
        var y = x.DType == DType.Float32
            ? ConvReluPool<float>(x4, weight, bias, plan, cShape, geometry, yShape)
            : ConvReluPool<double>(x4, weight, bias, plan, cShape, geometry, yShape);
        return unbatched ? Squeeze(y, 0) : y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static Tensor ConvReluPool<T>(Tensor x, Tensor weight, Tensor? bias, ConvPlan plan, Shape cShape, PatchGeometry geometry, Shape yShape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor.Empty(yShape, x.DType);
        var indices = Tensor.Empty(yShape, DType.Int32);
        var (ys, idx, bs) = (y.Data<T>(), indices.Data<int>(), bias?.Data<T>());
        if (ConvKernels.ChunksWholeImages(plan))
        {
            // Each chunk's plane (image i, channel c): + b[c] in place, then pooled into y while it is in cache.
            var (f, p, q) = (plan.OutChannels, plan.Patch.Columns, geometry.OutHeight * geometry.OutWidth);
            var one = geometry with { Channels = 1 };
            ConvKernels.Correlate<T>(x.Data<T>(), weight.Data<T>(), default, plan, default, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (wide, n0, m) =>
            {
                for (var i = 0; i < m; i++)
                {
                    for (var c = 0; c < f; c++)
                    {
                        var plane = wide[(c * m * p + i * p)..];
                        if (bs is not null) ElementKernels.AddScalar<T>(plane[..p], bs[c], plane[..p]);
                        var at = ((n0 + i) * f + c) * q;
                        PoolKernels.MaxPlane<T>(plane, one, ys.AsSpan(at, q), idx.AsSpan(at, q));
                    }
                }
            });
        }
        else
        {
            // Banded (large) images: the whole conv output, pooled, then given back at once.
            var c = StoragePool.Rent<T>(cShape.Numel);
            ConvKernels.Correlate<T>(x.Data<T>(), weight.Data<T>(), bias is null ? default : bs, plan, c);
            PoolKernels.MaxForward<T>(c, geometry, ys, idx);
            StoragePool.Return(c);
        }
        ElementKernels.Relu<T>(ys, ys);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        var values = Autograd.Record(y, "conv2d_relu_max_pool2d", inputs, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (grad) =>
        {
            // ∂ℓ/∂C[argmax] += G where y > 0, then the convolution's backward.
            var g = MaskWhere(grad.DType == x.DType ? grad : grad.To(x.DType), y, otherwise: 0);
            var gc = Tensor.Empty(cShape, x.DType);
            PoolKernels.MaxBackward<T>(g.Data<T>(), indices.Data<int>(), geometry, gc.Data<T>());
            Recycle(g);
            var grads = ConvolveBackward<T>(gc, x, weight, bias, plan);
            Recycle(gc);
            return grads;
        });
        OwnOrRecycle(values, indices);
        return values;
    }

    /// <summary>max_pool2d(max(0, x)) in one op, computed as max(0, max_pool2d(x)): no full-size ReLU pass or output.</summary>
    /// <returns>Shape: as <see cref="MaxPool2d(Tensor, MaxPool2dOptions)"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    internal static Tensor ReluMaxPool2d(Tensor x, MaxPool2dOptions options)
    {
        const string op = "max_pool2d";
        CheckPoolInput(op, x, 2);
        var (geometry, yShape) = MaxPool2dPlan(op, x.Shape, options);
        var y = Tensor.Empty(yShape, x.DType);
        var indices = Tensor.Empty(yShape, DType.Int32);
        if (x.DType == DType.Float32)
        {
            PoolKernels.MaxForward<float>(x.Data<float>(), geometry, y.Data<float>(), indices.Data<int>());
            ElementKernels.Relu<float>(y.Span<float>(), y.Span<float>());
        }
        else
        {
            PoolKernels.MaxForward<double>(x.Data<double>(), geometry, y.Data<double>(), indices.Data<int>());
            ElementKernels.Relu<double>(y.Span<double>(), y.Span<double>());
        }
        var values = Autograd.Record(y, "relu_max_pool2d", x, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (grad) =>
        {
            // ∂ℓ/∂x[argmax] += G where y > 0.
            var g = MaskWhere(grad.DType == x.DType ? grad : grad.To(x.DType), y, otherwise: 0);
            var gx = x.EmptyLike();
            if (x.DType == DType.Float32) PoolKernels.MaxBackward<float>(g.Data<float>(), indices.Data<int>(), geometry, gx.Data<float>());
            else PoolKernels.MaxBackward<double>(g.Data<double>(), indices.Data<int>(), geometry, gx.Data<double>());
            Recycle(g);
            return gx;
        });
        OwnOrRecycle(values, indices);
        return values;
    }

    /// <summary>The argmax scratch belongs to the node that reads it in its backward, or goes back at once when none was recorded.</summary>
    private static void OwnOrRecycle(Tensor values, Tensor scratch)
    {
        if (values.GradFn is { } node) node.Own(scratch);
        else Recycle(scratch);
    }

    /// <summary>Gives a tensor's array back to the pool; only for tensors made here that nothing else refers to.</summary>
    private static void Recycle(Tensor t)
    {
        var storage = t.Storage;
        t.Release();
        StoragePool.Return(storage);
    }
}
