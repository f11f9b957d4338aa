using System.Numerics;
using System.Numerics.Tensors;
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
        return Autograd.Record(y, "softmax", x, g =>
        {
            var dot = Sum(Mul(g, y), [a], keepDim: true);
            return Mul(y, Sub(g, dot));
        });
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
        return Autograd.Record(y, "log_softmax", x, g => Sub(g, Mul(Exp(y), Sum(g, [a], keepDim: true))));
    }

    private static void SoftmaxKernel<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1)
        {
            for (var o = 0; o < outer; o++)
            {
                var row = x.Slice(o * n, n);
                var dst = y.Slice(o * n, n);
                var max = TensorPrimitives.Max(row);
                if (!T.IsFinite(max)) max = T.Zero;
                TensorPrimitives.Subtract(row, max, dst);
                if (log)
                {
                    var sum = T.Zero;
                    foreach (var v in dst) sum += T.Exp(v);
                    TensorPrimitives.Subtract(dst, T.Log(sum), dst);
                }
                else
                {
                    TensorPrimitives.Exp(dst, dst);
                    TensorPrimitives.Divide(dst, TensorPrimitives.Sum<T>(dst), dst);
                }
            }
            return;
        }
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIx = o * n * inner + i;
                var max = T.NegativeInfinity;
                for (var j = 0; j < n; j++) max = T.Max(max, x[baseIx + j * inner]);
                if (!T.IsFinite(max)) max = T.Zero;
                var sum = T.Zero;
                for (var j = 0; j < n; j++) sum += T.Exp(x[baseIx + j * inner] - max);
                var logSum = T.Log(sum);
                for (var j = 0; j < n; j++)
                {
                    var shifted = x[baseIx + j * inner] - max;
                    y[baseIx + j * inner] = log ? shifted - logSum : T.Exp(shifted) / sum;
                }
            }
        }
    }
}
