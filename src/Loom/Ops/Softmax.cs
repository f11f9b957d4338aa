using System.Numerics;
using System.Runtime.CompilerServices;

namespace Loom;

/// <summary>
/// Softargmax (softmax) and log-softargmax along an axis, numerically stable (the row max is subtracted first).
/// Softmax is a soft *arg*max: a smooth, differentiable stand-in for the one-hot of the largest entry.
/// </summary>
public static partial class Functional
{
    /// <summary>y = exp(x − max) / Σ exp(x − max).  ∂/∂x = y ⊙ (g − Σ g ⊙ y).</summary>
    public static Tensor Softmax(Tensor x, int axis = -1)
    {
        Tensor.RequireFloat(x, "softmax");
        var a = x.Shape.NormalizeAxis(axis, "softmax");
        var (outer, n, inner) = (x.Shape.Product(0, a), x.Shape.Dims[a], x.Shape.Product(a + 1, x.Rank));
        var y = x.EmptyLike();
        if (x.DType == DType.Float32) SoftmaxKernel<float>(x.Span<float>(), y.Span<float>(), outer, n, inner, log: false);
        else SoftmaxKernel<double>(x.Span<double>(), y.Span<double>(), outer, n, inner, log: false);
        return Autograd.Record(y, "softmax", x, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) => SoftmaxBackward(g, y, outer, n, inner, log: false));
    }

    /// <summary>y = x − max − log Σ exp(x − max).  ∂/∂x = g − softmax(x)·Σ g.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor LogSoftmax(Tensor x, int axis = -1)
    {
        Tensor.RequireFloat(x, "log_softmax");
        var a = x.Shape.NormalizeAxis(axis, "log_softmax");
        var (outer, n, inner) = (x.Shape.Product(0, a), x.Shape.Dims[a], x.Shape.Product(a + 1, x.Rank));
        var y = x.EmptyLike();
        if (x.DType == DType.Float32) SoftmaxKernel<float>(x.Span<float>(), y.Span<float>(), outer, n, inner, log: true);
        else SoftmaxKernel<double>(x.Span<double>(), y.Span<double>(), outer, n, inner, log: true);
        return Autograd.Record(y, "log_softmax", x, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) => SoftmaxBackward(g, y, outer, n, inner, log: true));
    }

    // One pass per row instead of composed ops (their TensorPrimitives e^x alone was ~60 ms of JIT work on the 30th and
    // 60th training steps): softmax ∂x = y ⊙ (g − Σ g ⊙ y), log-softmax ∂x = g − e^y · Σ g. Backward runs under no-grad,
    // so nothing needs the composed ops' own gradients.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static Tensor SoftmaxBackward(Tensor g, Tensor y, int outer, int n, int inner, bool log)
    {
        var dx = g.EmptyLike();
        if (g.DType == DType.Float32) SoftmaxBackwardKernel<float>(g.Span<float>(), y.Span<float>(), dx.Span<float>(), outer, n, inner, log);
        else SoftmaxBackwardKernel<double>(g.Span<double>(), y.Span<double>(), dx.Span<double>(), outer, n, inner, log);
        return dx;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxBackwardKernel<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> dx, int outer, int n, int inner, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIx = (o * n * inner) + i;
                var sum = T.Zero; // log: Σ g; softmax: Σ g ⊙ y
                for (var j = 0; j < n; j++)
                {
                    var ix = baseIx + (j * inner);
                    sum += log ? g[ix] : g[ix] * y[ix];
                }
                for (var j = 0; j < n; j++)
                {
                    var ix = baseIx + (j * inner);
                    dx[ix] = log ? g[ix] - (T.Exp(y[ix]) * sum) : y[ix] * (g[ix] - sum);
                }
            }
        }
    }

    // Plain loops (no TensorPrimitives): a row is a class axis, short, and these instantiations would be compiled
    // three times over the first training steps; x − max is taken once and reused.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void SoftmaxKernel<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIx = (o * n * inner) + i;
                var max = T.NegativeInfinity;
                for (var j = 0; j < n; j++) max = T.Max(max, x[baseIx + (j * inner)]);
                if (!T.IsFinite(max)) max = T.Zero;
                var sum = T.Zero;
                for (var j = 0; j < n; j++)
                {
                    var ix = baseIx + (j * inner);
                    var shifted = x[ix] - max;
                    var e = T.Exp(shifted);
                    sum += e;
                    y[ix] = log ? shifted : e;
                }
                if (log)
                {
                    var logSum = T.Log(sum);
                    for (var j = 0; j < n; j++) y[baseIx + (j * inner)] -= logSum;
                }
                else
                {
                    for (var j = 0; j < n; j++) y[baseIx + (j * inner)] /= sum;
                }
            }
        }
    }
}
