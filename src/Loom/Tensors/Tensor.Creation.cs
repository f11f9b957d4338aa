using System.Runtime.CompilerServices;
namespace Loom;

public sealed partial class Tensor
{
    /// <summary>A float32 tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(new Shape(shape));

    /// <summary>A tensor of zeros of the given shape and type.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32) => new(dtype switch
    {
        DType.Float32 => new float[shape.Numel],
        DType.Float64 => new double[shape.Numel],
        _ => new int[shape.Numel],
    }, shape, dtype);

    /// <summary>A float32 tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(new Shape(shape), 1);

    /// <summary>A tensor of ones of the given shape and type.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32) => Full(shape, 1, dtype);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32) => Allocate(shape, dtype).Fill_(value);

    /// <summary>A zero-rank (scalar) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => Full(new Shape(), value, dtype);

    /// <summary>Zeros shaped and typed like <paramref name="other"/>.</summary>
    public static Tensor ZerosLike(Tensor other) => Zeros(other.Shape, other.DType);

    /// <summary>Ones shaped and typed like <paramref name="other"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the seed of every backward pass: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor OnesLike(Tensor other) => Full(other.Shape, 1, other.DType);

    /// <summary>Values start, start+step, … below end (PyTorch's <c>arange</c>).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32)
    {
        if (step == 0 || double.IsNaN(step)) throw new LoomException("arange: step must be non-zero");
        var n = (int)Math.Max(0, Math.Ceiling((end - start) / step));
        var t = Allocate(new Shape(n), dtype);
        for (var i = 0; i < n; i++) t.SetFlat(i, start + i * step);
        return t;
    }

    /// <summary>Values 0, 1, …, end-1.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32) => Arange(0, end, 1, dtype);

    /// <summary>Uniform values in [0, 1) drawn from <paramref name="generator"/>.</summary>
    public static Tensor Rand(Shape shape, Generator generator, DType dtype = DType.Float32) => Uniform(shape, 0, 1, generator, dtype);

    /// <summary>Uniform values in [low, high).</summary>
    public static Tensor Uniform(Shape shape, double low, double high, Generator generator, DType dtype = DType.Float32)
    {
        RequireFloatType(dtype, "rand");
        var t = Allocate(shape, dtype);
        for (var i = 0; i < t.Numel; i++) t.SetFlat(i, low + (high - low) * generator.NextDouble());
        return t;
    }

    /// <summary>Normal values with the given mean and standard deviation.</summary>
    public static Tensor Randn(Shape shape, Generator generator, DType dtype = DType.Float32, double mean = 0, double std = 1)
    {
        RequireFloatType(dtype, "randn");
        var t = Allocate(shape, dtype);
        for (var i = 0; i < t.Numel; i++) t.SetFlat(i, mean + std * generator.NextNormal());
        return t;
    }

    /// <summary>A float32 tensor over a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => new((float[])data.Clone(), ShapeFor(data.Length, shape), DType.Float32);

    /// <summary>A float64 tensor over a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(double[] data, params int[] shape) => new((double[])data.Clone(), ShapeFor(data.Length, shape), DType.Float64);

    /// <summary>An int32 tensor (indices, labels) over a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(int[] data, params int[] shape) => new((int[])data.Clone(), ShapeFor(data.Length, shape), DType.Int32);

    /// <summary>Wraps <paramref name="data"/> without copying (the tensor and the array share values).</summary>
    public static Tensor Wrap(float[] data, Shape shape) => new(data, shape, DType.Float32);

    /// <summary>Wraps <paramref name="data"/> without copying.</summary>
    public static Tensor Wrap(double[] data, Shape shape) => new(data, shape, DType.Float64);

    /// <summary>Wraps <paramref name="data"/> without copying.</summary>
    public static Tensor Wrap(int[] data, Shape shape) => new(data, shape, DType.Int32);

    private static Shape ShapeFor(int length, int[] shape)
    {
        var s = shape.Length == 0 ? new Shape(length) : new Shape(shape);
        if (s.Numel != length)
            throw new LoomException($"from_array: {length} values cannot fill shape {s} ({s.Numel} elements)");
        return s;
    }

    internal void SetFlat(int index, double value)
    {
        switch (DType)
        {
            case DType.Float32: Data<float>()[index] = (float)value; break;
            case DType.Float64: Data<double>()[index] = value; break;
            default: Data<int>()[index] = (int)value; break;
        }
    }

    private static void RequireFloatType(DType dtype, string op)
    {
        if (dtype == DType.Int32) throw new LoomException($"{op}: expected float32 or float64, found int32");
    }
}
