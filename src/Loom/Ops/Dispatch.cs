using System.Numerics;
using System.Runtime.CompilerServices;
using Loom.Kernels;

namespace Loom;

/// <summary>Shared plumbing of the ops: type checks and the float32/float64 switch around generic kernels.</summary>
internal static class Dispatch
{
    /// <summary>Runs a broadcasting binary kernel into a new tensor.</summary>
    public static Tensor Binary<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryRowOp
    {
        Tensor.RequireFloat(a, op);
        Tensor.RequireFloat(b, op);
        Tensor.RequireSameDType(a, b, op);
        var shape = a.Shape == b.Shape ? a.Shape : Shape.Broadcast(a.Shape, b.Shape, op);
        var y = Tensor.Empty(shape, a.DType);
        if (a.DType == DType.Float32) BinaryInto<TOp, float>(a, b, y);
        else BinaryInto<TOp, double>(a, b, y);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void BinaryInto<TOp, T>(Tensor a, Tensor b, Tensor y)
        where TOp : IBinaryRowOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Shape == b.Shape)
        {
            TOp.Rows<T>(a.Span<T>(), b.Span<T>(), y.Span<T>());
        }
        else if (b.Numel == 1)
        {
            TOp.RowScalar<T>(a.Span<T>(), b.Span<T>()[0], y.Span<T>());
        }
        else if (a.Numel == 1)
        {
            TOp.ScalarRow<T>(a.Span<T>()[0], b.Span<T>(), y.Span<T>());
        }
        else
        {
            Broadcasting.Binary<TOp, T>(a.Span<T>(), Shape.BroadcastStrides(a.Shape, y.Shape),
                b.Span<T>(), Shape.BroadcastStrides(b.Shape, y.Shape), y.Span<T>(), y.Shape.Dims);
        }
    }

    /// <summary>Runs a binary kernel with a scalar right operand.</summary>
    public static Tensor WithScalar<TOp>(Tensor a, double s, bool scalarFirst, string op) where TOp : IBinaryRowOp
    {
        Tensor.RequireFloat(a, op);
        var y = a.EmptyLike();
        if (a.DType == DType.Float32)
        {
            if (scalarFirst) TOp.ScalarRow(a: (float)s, a.Span<float>(), y.Span<float>());
            else TOp.RowScalar(a.Span<float>(), (float)s, y.Span<float>());
        }
        else
        {
            if (scalarFirst) TOp.ScalarRow(s, a.Span<double>(), y.Span<double>());
            else TOp.RowScalar(a.Span<double>(), s, y.Span<double>());
        }
        return y;
    }
}
