using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// PyTorch's <c>torch</c> / <c>torch.nn.functional</c> as static functions: every op computes its output and records
/// its backward next to it. This file: add, sub, mul, div, neg with NumPy broadcasting.
/// </summary>
public static partial class Functional
{
    // Broadcasting backward: an operand that was stretched along an axis receives the sum of the gradient
    // over that axis (SumTo), since each of its elements fed every output along it.

    /// <summary>a + b.  ∂/∂a = g, ∂/∂b = g (summed back to each operand's shape).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<AddOp>(a, b, "add");
        return Autograd.Needs(a, b) ? RecordAdd(y, a, b) : y;
    }

    // The records live in their own methods: a lambda's captured parameters are hoisted into a closure object at the
    // start of the method that declares it, so recording inline would allocate the closure even when nothing needs
    // gradients (W7 of the bench: one-element adds run ~1.5x faster without it).
    private static Tensor RecordAdd(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "add", [a, b], g => [
            a.RequiresGrad ? SumTo(g, a.Shape) : null,
            b.RequiresGrad ? SumTo(g, b.Shape) : null]);

    /// <summary>a − b.  ∂/∂a = g, ∂/∂b = −g.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<SubOp>(a, b, "sub");
        return Autograd.Needs(a, b) ? RecordSub(y, a, b) : y;
    }

    private static Tensor RecordSub(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "sub", [a, b], g => [
            a.RequiresGrad ? SumTo(g, a.Shape) : null,
            b.RequiresGrad ? Neg(SumTo(g, b.Shape)) : null]);

    /// <summary>a · b.  ∂/∂a = g·b, ∂/∂b = g·a.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<MulOp>(a, b, "mul");
        return Autograd.Needs(a, b) ? RecordMul(y, a, b) : y;
    }

    private static Tensor RecordMul(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "mul", [a, b], g => [
            a.RequiresGrad ? SumTo(Mul(g, b), a.Shape) : null,
            b.RequiresGrad ? SumTo(Mul(g, a), b.Shape) : null]);

    /// <summary>a / b.  ∂/∂a = g/b, ∂/∂b = −g·a/b².</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<DivOp>(a, b, "div");
        return Autograd.Needs(a, b) ? RecordDiv(y, a, b) : y;
    }

    private static Tensor RecordDiv(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "div", [a, b], g => [
            a.RequiresGrad ? SumTo(Div(g, b), a.Shape) : null,
            b.RequiresGrad ? SumTo(Neg(Div(Mul(g, y), b)), b.Shape) : null]);

    /// <summary>x + s.</summary>
    public static Tensor Add(Tensor x, double s) => Autograd.Record(Dispatch.WithScalar<AddOp>(x, s, false, "add"), "add_scalar", x, g => g);

    /// <summary>x − s.</summary>
    public static Tensor Sub(Tensor x, double s) => Add(x, -s);

    /// <summary>s − x.</summary>
    public static Tensor RSub(double s, Tensor x) => Autograd.Record(Dispatch.WithScalar<SubOp>(x, s, true, "rsub"), "rsub_scalar", x, Neg);

    /// <summary>x · s.</summary>
    public static Tensor Mul(Tensor x, double s) => Autograd.Record(Dispatch.WithScalar<MulOp>(x, s, false, "mul"), "mul_scalar", x, g => Mul(g, s));

    /// <summary>x / s.</summary>
    public static Tensor Div(Tensor x, double s) => Mul(x, 1.0 / s);

    /// <summary>s / x.  ∂/∂x = −s/x².</summary>
    public static Tensor RDiv(double s, Tensor x)
    {
        var y = Dispatch.WithScalar<DivOp>(x, s, true, "rdiv");
        return Autograd.Record(y, "rdiv_scalar", x, g => Neg(Div(Mul(g, y), x)));
    }

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x) => Autograd.Record(Dispatch.WithScalar<MulOp>(x, -1, false, "neg"), "neg", x, Neg);

    /// <summary>Elementwise maximum of two tensors; the gradient goes to the larger (to a on ties).</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<MaximumOp>(a, b, "maximum");
        return Autograd.Record(y, "maximum", [a, b], g =>
        {
            var aWins = GreaterEqual(a, b);
            return [
                a.RequiresGrad ? SumTo(Mul(g, aWins), a.Shape) : null,
                b.RequiresGrad ? SumTo(Mul(g, RSub(1, aWins)), b.Shape) : null];
        });
    }

    /// <summary>Elementwise minimum; the gradient goes to the smaller (to a on ties).</summary>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = Dispatch.Binary<MinimumOp>(a, b, "minimum");
        return Autograd.Record(y, "minimum", [a, b], g =>
        {
            var aWins = GreaterEqual(b, a);
            return [
                a.RequiresGrad ? SumTo(Mul(g, aWins), a.Shape) : null,
                b.RequiresGrad ? SumTo(Mul(g, RSub(1, aWins)), b.Shape) : null];
        });
    }

    /// <summary>1 where a ≥ b else 0 (broadcast; not differentiable).</summary>
    public static Tensor GreaterEqual(Tensor a, Tensor b)
    {
        using var _ = Autograd.NoGrad();
        var diff = Dispatch.Binary<SubOp>(a, b, "ge");
        if (diff.DType == DType.Float32)
        {
            foreach (ref var v in diff.Span<float>()) v = v >= 0 ? 1f : 0f;
        }
        else
        {
            foreach (ref var v in diff.Span<double>()) v = v >= 0 ? 1.0 : 0.0;
        }
        return diff;
    }

    /// <summary>
    /// Sums <paramref name="x"/> down to <paramref name="shape"/>, undoing a broadcast: leading axes are summed away and
    /// axes where <paramref name="shape"/> has size 1 are summed with keepdim.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor SumTo(Tensor x, Shape shape)
    {
        if (x.Shape == shape) return x;
        var lead = x.Rank - shape.Rank;
        var axes = new List<int>();
        for (var i = 0; i < x.Rank; i++)
        {
            if (i < lead || (shape.Dims[i - lead] == 1 && x.Shape.Dims[i] != 1)) axes.Add(i);
        }
        var summed = axes.Count == 0 ? x : Sum(x, [.. axes], keepDim: true);
        return Reshape(summed, shape);
    }

    /// <summary>dst += src in place (shapes must match; not recorded). Used to accumulate gradients.</summary>
    public static void AddInPlace(Tensor dst, Tensor src)
    {
        if (dst.Shape != src.Shape)
            throw new LoomException($"add_: shapes {dst.Shape} and {src.Shape} differ");
        var s = src.DType == dst.DType ? src : src.To(dst.DType);
        if (dst.DType == DType.Float32) ElementKernels.Add<float>(dst.Span<float>(), s.Span<float>(), dst.Span<float>());
        else if (dst.DType == DType.Float64) ElementKernels.Add<double>(dst.Span<double>(), s.Span<double>(), dst.Span<double>());
        else ElementKernels.Add<int>(dst.Span<int>(), s.Span<int>(), dst.Span<int>());
    }

    /// <summary>Converts between element types; float↔float conversions pass gradients back converted.</summary>
    public static Tensor ToDType(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x;
        var y = Tensor.Empty(x.Shape, dtype);
        switch (x.DType, dtype)
        {
            case (DType.Float32, DType.Float64): TensorPrimitives.ConvertChecked<float, double>(x.Span<float>(), y.Span<double>()); break;
            case (DType.Float64, DType.Float32): TensorPrimitives.ConvertTruncating<double, float>(x.Span<double>(), y.Span<float>()); break;
            default:
                for (var i = 0; i < x.Numel; i++) y.SetFlat(i, x.GetFlat(i));
                break;
        }
        if (dtype == DType.Int32) return y;
        var from = x.DType;
        return Autograd.Record(y, "to", x, g => ToDType(g, from));
    }
}
