using System.Numerics;
using System.Numerics.Tensors;

namespace Loom.Kernels;

/// <summary>a + b (the same loops as the in-place add and the fused conv epilogues: <see cref="ElementKernels"/>)</summary>
public readonly struct AddOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => ElementKernels.Add(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => ElementKernels.AddScalar(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => ElementKernels.AddScalar(b, a, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a + b;
}

/// <summary>a − b</summary>
public readonly struct SubOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a - b;
}

/// <summary>a · b</summary>
public readonly struct MulOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(b, a, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a * b;
}

/// <summary>a / b</summary>
public readonly struct DivOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a / b;
}

/// <summary>max(a, b) (propagates NaN as PyTorch's <c>maximum</c>)</summary>
public readonly struct MaximumOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(b, a, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Max(a, b);
}

/// <summary>min(a, b)</summary>
public readonly struct MinimumOp : IBinaryRowOp
{
    public static void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, dst);
    public static void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, dst);
    public static void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(b, a, dst);
    public static T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(a, b);
}
