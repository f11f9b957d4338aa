using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Loom.Kernels;

namespace Loom;

/// <summary>Reductions over axes: sum, mean, max/min with indices, argmax, logsumexp.</summary>
public static partial class Functional
{
    /// <summary>Sum of all elements (a scalar).  ∂/∂x = g broadcast.</summary>
    public static Tensor Sum(Tensor x)
    {
        Tensor.RequireFloat(x, "sum");
        var y = Tensor.Empty(new Shape(), x.DType);
        if (x.DType == DType.Float32) y.Span<float>()[0] = TensorPrimitives.Sum<float>(x.Span<float>());
        else y.Span<double>()[0] = TensorPrimitives.Sum<double>(x.Span<double>());
        return Autograd.Record(y, "sum", x, g => Expand(g, x.Shape));
    }

    /// <summary>Sum over one axis.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => Sum(x, [axis], keepDim);

    /// <summary>Sum over the given axes (negative counts from the end).  ∂/∂x = g broadcast back over the summed axes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false)
    {
        Tensor.RequireFloat(x, "sum");
        var norm = NormalizeAxes(x.Shape, axes, "sum");
        var y = x;
        using (Autograd.NoGrad())
        {
            for (var i = norm.Length - 1; i >= 0; i--) y = SumAxisKeep(y, norm[i]);
        }
        var keptShape = y.Shape;
        if (!keepDim) y = Tensor.WrapStorage(y, DropAxes(x.Shape, norm));
        else y = Tensor.WrapStorage(y, keptShape);
        return Autograd.Record(y, "sum_axes", x, g => Expand(Reshape(g, keptShape), x.Shape));
    }

    /// <summary>Mean of all elements.</summary>
    public static Tensor Mean(Tensor x) => Mul(Sum(x), 1.0 / Math.Max(1, x.Numel));

    /// <summary>Mean over the given axes.</summary>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim = false)
    {
        var norm = NormalizeAxes(x.Shape, axes, "mean");
        var count = 1;
        foreach (var a in norm) count *= x.Shape.Dims[a];
        return Mul(Sum(x, norm, keepDim), 1.0 / Math.Max(1, count));
    }

    /// <summary>Mean over one axis.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => Mean(x, [axis], keepDim);

    /// <summary>Variance over axes (unbiased by default, as PyTorch's <c>var</c>).</summary>
    public static Tensor Var(Tensor x, int[] axes, bool unbiased = true, bool keepDim = false)
    {
        var norm = NormalizeAxes(x.Shape, axes, "var");
        var count = 1;
        foreach (var a in norm) count *= x.Shape.Dims[a];
        var centered = Sub(x, Mean(x, norm, keepDim: true));
        var ss = Sum(Mul(centered, centered), norm, keepDim);
        return Mul(ss, 1.0 / Math.Max(1, unbiased ? count - 1 : count));
    }

    /// <summary>Maximum along an axis and the index where it occurs (first on ties).  ∂/∂x = g at that index.</summary>
    public static (Tensor Values, Tensor Indices) Max(Tensor x, int axis, bool keepDim = false) => Extreme(x, axis, keepDim, max: true);

    /// <summary>Minimum along an axis and its index.</summary>
    public static (Tensor Values, Tensor Indices) Min(Tensor x, int axis, bool keepDim = false) => Extreme(x, axis, keepDim, max: false);

    /// <summary>The largest element (a scalar).</summary>
    public static Tensor Max(Tensor x) => Max(Reshape(x, new Shape(x.Numel)), 0).Values;

    /// <summary>Index of the maximum along an axis (int32).</summary>
    public static Tensor ArgMax(Tensor x, int axis, bool keepDim = false)
    {
        using var _ = Autograd.NoGrad();
        return Max(x, axis, keepDim).Indices;
    }

    /// <summary>log Σ exp(x) along an axis, stably: m + log Σ exp(x − m).  ∂/∂x = g·softmax(x).</summary>
    public static Tensor LogSumExp(Tensor x, int axis, bool keepDim = false)
    {
        Tensor.RequireFloat(x, "logsumexp");
        var a = x.Shape.NormalizeAxis(axis, "logsumexp");
        Tensor y;
        using (Autograd.NoGrad())
        {
            var m = Max(x, a, keepDim: true).Values;
            // An all −inf row has max −inf; use 0 there so exp(x − m) is 0 and the result −inf, as in PyTorch.
            var safeM = m.Clone();
            ReplaceNonFinite(safeM);
            y = Add(Log(Sum(Exp(Sub(x, safeM)), [a], keepDim: true)), safeM);
        }
        var keptShape = y.Shape;
        if (!keepDim) y = Tensor.WrapStorage(y, DropAxes(x.Shape, [a]));
        return Autograd.Record(y, "logsumexp", x, g => Mul(Reshape(g, keptShape), Exp(Sub(x, Reshape(y, keptShape)))));
    }

    private static void ReplaceNonFinite(Tensor t)
    {
        if (t.DType == DType.Float32)
        {
            foreach (ref var v in t.Span<float>()) if (!float.IsFinite(v)) v = 0;
        }
        else
        {
            foreach (ref var v in t.Span<double>()) if (!double.IsFinite(v)) v = 0;
        }
    }

    private static (Tensor Values, Tensor Indices) Extreme(Tensor x, int axis, bool keepDim, bool max)
    {
        var op = max ? "max" : "min";
        Tensor.RequireFloat(x, op);
        var a = x.Shape.NormalizeAxis(axis, op);
        var n = x.Shape.Dims[a];
        if (n == 0) throw new LoomException($"{op}: axis {axis} of shape {x.Shape} is empty");
        var outer = x.Shape.Product(0, a);
        var inner = x.Shape.Product(a + 1, x.Rank);
        var keptShape = KeepAxes(x.Shape, [a]);
        var values = Tensor.Empty(keptShape, x.DType);
        var indices = Tensor.Empty(keptShape, DType.Int32);
        if (x.DType == DType.Float32) ExtremeKernel<float>(x.Span<float>(), values.Span<float>(), indices.Span<int>(), outer, n, inner, max);
        else ExtremeKernel<double>(x.Span<double>(), values.Span<double>(), indices.Span<int>(), outer, n, inner, max);
        var outShape = keepDim ? keptShape : DropAxes(x.Shape, [a]);
        values = Tensor.WrapStorage(values, outShape);
        indices = Tensor.WrapStorage(indices, outShape);
        var idx = indices;
        values = Autograd.Record(values, op, x, g => ScatterAlong(g, idx, x.Shape, a));
        return (values, indices);
    }

    private static void ExtremeKernel<T>(ReadOnlySpan<T> x, Span<T> values, Span<int> indices, int outer, int n, int inner, bool max)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIx = o * n * inner + i;
                var best = x[baseIx];
                var bestIx = 0;
                if (!T.IsNaN(best))
                {
                    for (var j = 1; j < n; j++)
                    {
                        var v = x[baseIx + j * inner];
                        if (T.IsNaN(v)) { best = v; bestIx = j; break; }
                        if (max ? v > best : v < best) { best = v; bestIx = j; }
                    }
                }
                values[o * inner + i] = best;
                indices[o * inner + i] = bestIx;
            }
        }
    }

    /// <summary>A zero tensor of <paramref name="shape"/> with g placed at the given indices along <paramref name="axis"/>.</summary>
    private static Tensor ScatterAlong(Tensor g, Tensor indices, Shape shape, int axis)
    {
        var result = Tensor.EmptyZeroed(shape, g.DType);
        var n = shape.Dims[axis];
        var inner = shape.Product(axis + 1, shape.Rank);
        var idx = indices.Span<int>();
        for (var k = 0; k < idx.Length; k++)
        {
            var o = k / inner;
            var i = k % inner;
            var flat = (o * n + idx[k]) * inner + i;
            result.SetFlat(flat, result.GetFlat(flat) + g.GetFlat(k));
        }
        return result;
    }

    /// <summary>Sum over one axis, keeping it with size 1: view x as [outer, n, inner].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static Tensor SumAxisKeep(Tensor x, int axis)
    {
        var outer = x.Shape.Product(0, axis);
        var n = x.Shape.Dims[axis];
        var inner = x.Shape.Product(axis + 1, x.Rank);
        var y = Tensor.EmptyZeroed(KeepAxes(x.Shape, [axis]), x.DType);
        if (x.DType == DType.Float32) SumAxisKernel<float>(x.Span<float>(), y.Span<float>(), outer, n, inner);
        else SumAxisKernel<double>(x.Span<double>(), y.Span<double>(), outer, n, inner);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step (a linear's bias gradient): optimized at first call
    private static void SumAxisKernel<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1)
        {
            for (var o = 0; o < outer; o++) y[o] = ElementKernels.Sum(x.Slice(o * n, n));
            return;
        }
        for (var o = 0; o < outer; o++)
        {
            var dst = y.Slice(o * inner, inner);
            for (var j = 0; j < n; j++) ElementKernels.Add<T>(dst, x.Slice((o * n + j) * inner, inner), dst);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    internal static int[] NormalizeAxes(Shape shape, int[] axes, string op)
    {
        var norm = new int[axes.Length];
        for (var i = 0; i < axes.Length; i++) norm[i] = shape.NormalizeAxis(axes[i], op);
        Array.Sort(norm);
        for (var i = 1; i < norm.Length; i++)
            if (norm[i] == norm[i - 1]) throw new LoomException($"{op}: axis {norm[i]} given twice");
        return norm;
    }

    private static Shape KeepAxes(Shape shape, int[] axes)
    {
        var dims = shape.ToArray();
        foreach (var a in axes) dims[a] = 1;
        return new Shape(dims);
    }

    private static Shape DropAxes(Shape shape, int[] axes)
    {
        var dims = new List<int>();
        for (var i = 0; i < shape.Rank; i++) if (Array.IndexOf(axes, i) < 0) dims.Add(shape.Dims[i]);
        return new Shape([.. dims]);
    }
}
