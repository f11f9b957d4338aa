using System.Numerics;
using System.Runtime.CompilerServices;

namespace Loom;

/// <summary>
/// An n-dimensional array of float32 (or float64 / int32) values, contiguous and row-major, that records the
/// operations applied to it when <see cref="RequiresGrad"/> is set, so <see cref="Backward"/> can compute gradients.
/// Memory is managed: there is nothing to dispose.
/// </summary>
/// <example>
/// <code>
/// var w = Tensor.Randn([3, 2], new Generator(0)).RequiresGrad_();
/// var loss = (Tensor.Ones(4, 3).MatMul(w)).Sum();
/// loss.Backward();   // w.Grad is now [3, 2] of 4s
/// </code>
/// </example>
public sealed partial class Tensor
{
    /// <summary>The element array; reshape views share it. Its length is exactly <see cref="Numel"/>, until the array
    /// goes back to the storage pool (<see cref="Release"/>): then it is <see cref="ReleasedStorage"/>.</summary>
    internal Array Storage { get; private set; }

    /// <summary>What a released tensor holds instead of its array: no typed access succeeds on it.</summary>
    private static readonly Array ReleasedStorage = Array.Empty<ReleasedMarker>();

    private readonly struct ReleasedMarker;

    internal Tensor(Array storage, Shape shape, DType dtype)
    {
        if (ReferenceEquals(storage, ReleasedStorage)) throw ReleasedError(shape, dtype);
        Storage = storage;
        Shape = shape;
        DType = dtype;
        Numel = shape.Numel;
        if (storage.Length != Numel)
            throw new LoomException($"tensor: {storage.Length} values cannot fill shape {shape} ({Numel} elements)");
        MemoryScope.TrackNew(this);
    }

    /// <summary>Whether this tensor's values went back to the storage pool (its <see cref="MemoryScope"/> ended).</summary>
    internal bool IsReleased => ReferenceEquals(Storage, ReleasedStorage);

    /// <summary>Cuts this tensor from its array, which the caller hands back to the pool; any later use throws.</summary>
    internal void Release() => Storage = ReleasedStorage;

    private static LoomException ReleasedError(Shape shape, DType dtype) => new(
        $"tensor: this {dtype.TorchName()} tensor of shape {shape} was recycled when the MemoryScope that made it ended; " +
        "call scope.Keep(tensor) inside the scope to use it afterwards");

    /// <summary>The sizes of the axes.</summary>
    public Shape Shape { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The number of elements.</summary>
    public int Numel { get; }

    /// <summary>The number of axes.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Size of one axis (negative counts from the end), as PyTorch's <c>size(dim)</c>.</summary>
    public int Size(int axis) => Shape[axis];

    /// <summary>Whether operations on this tensor are recorded for <see cref="Backward"/>.</summary>
    public bool RequiresGrad { get; set; }

    private Tensor? _grad;
    private bool _gradSeen;

    /// <summary>The accumulated gradient of the last <see cref="Backward"/> (leaf tensors only).</summary>
    public Tensor? Grad
    {
        get
        {
            // Handed out: someone may now hold it, so clearing it (ZeroGrad) must not recycle its array.
            _gradSeen |= _grad is not null;
            return _grad;
        }
        set
        {
            // x.Grad = null (or a new value) over a gradient nobody outside the engine saw: its array goes back to the
            // pool, as with ZeroGrad, so the next backward reuses it (W6's 25.7 MB ∂x was a fresh array every step).
            if (!ReferenceEquals(value, _grad)) DropGrad();
            _grad = value;
            _gradSeen = value is not null;
        }
    }

    /// <summary>The gradient for the engine's own readers (optimizers, clipping): reading it here exposes nothing.</summary>
    internal Tensor? GradInternal => _grad;

    /// <summary>Sets a gradient the backward pass made and holds alone (no one outside the engine has seen it).</summary>
    internal void SetEngineGrad(Tensor grad)
    {
        _grad = grad;
        _gradSeen = false;
    }

    /// <summary>Clears <see cref="Grad"/> (set to none); an array nobody outside the engine saw goes back to the pool,
    /// so the next backward reuses it instead of allocating the parameter's gradient afresh.</summary>
    internal void DropGrad()
    {
        if (_grad is { IsReleased: false } g && !_gradSeen)
        {
            var storage = g.Storage;
            g.Release();
            StoragePool.Return(storage);
        }
        _grad = null;
        _gradSeen = false;
    }

    /// <summary>The node that produced this tensor, or null for a leaf.</summary>
    internal Node? GradFn { get; set; }

    /// <summary>True for tensors made by the user rather than by a recorded operation.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (PyTorch's <c>requires_grad_()</c>).</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        if (requiresGrad && DType == DType.Int32)
            throw new LoomException("requires_grad: an int32 tensor cannot require gradients (only float32 and float64 can)");
        if (!IsLeaf && !requiresGrad)
            throw new LoomException("requires_grad: cannot turn off gradients of a non-leaf tensor; use Detach()");
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>The float32 elements, writable. Throws for other types.</summary>
    public Span<float> AsSpan() => Span<float>();

    /// <summary>The float64 elements, writable. Throws for other types.</summary>
    public Span<double> AsDoubleSpan() => Span<double>();

    /// <summary>The int32 elements, writable. Throws for other types.</summary>
    public Span<int> AsIntSpan() => Span<int>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> Span<T>()
    {
        if (Storage is T[] array) return array;
        if (IsReleased) throw ReleasedError(Shape, DType);
        throw new LoomException($"tensor: asked for {typeof(T).Name} elements of a {DType.TorchName()} tensor of shape {Shape}");
    }

    internal T[] Data<T>() => Storage as T[] ?? throw (IsReleased ? ReleasedError(Shape, DType) : new InvalidCastException());

    /// <summary>A tensor of another shape over the same storage, outside the graph.</summary>
    internal static Tensor WrapStorage(Tensor t, Shape shape) => new(t.LiveStorage, shape, t.DType);

    /// <summary>A new op output with the same shape and type, values undefined (callers overwrite every one).</summary>
    internal Tensor EmptyLike() => Empty(Shape, DType);

    /// <summary>
    /// An op output or scratch tensor, values undefined (callers overwrite every one): its array comes from the
    /// <see cref="StoragePool"/>, and goes back when the engine proves it dead (see <see cref="MemoryScope"/>).
    /// Tensors handed to users to keep (creation functions, <see cref="Grad"/>, optimizer state) use <see cref="Allocate"/>.
    /// </summary>
    internal static Tensor Empty(Shape shape, DType dtype) => new(dtype switch
    {
        DType.Float32 => StoragePool.Rent<float>(shape.Numel),
        DType.Float64 => StoragePool.Rent<double>(shape.Numel),
        _ => StoragePool.Rent<int>(shape.Numel),
    }, shape, dtype);

    /// <summary>An op output of zeros (a pooled array, cleared).</summary>
    internal static Tensor EmptyZeroed(Shape shape, DType dtype)
    {
        var t = Empty(shape, dtype);
        Array.Clear(t.Storage);
        return t;
    }

    /// <summary>A fresh array outside the pool and outside any scope, values undefined: for tensors that live on.</summary>
    internal static Tensor Allocate(Shape shape, DType dtype) => new(dtype switch
    {
        DType.Float32 => GC.AllocateUninitializedArray<float>(shape.Numel),
        DType.Float64 => GC.AllocateUninitializedArray<double>(shape.Numel),
        _ => GC.AllocateUninitializedArray<int>(shape.Numel),
    }, shape, dtype);

    /// <summary>The elements converted to float32, row-major.</summary>
    public float[] ToArray() => DType switch
    {
        DType.Float32 => Span<float>().ToArray(),
        DType.Float64 => System.Array.ConvertAll(Data<double>(), v => (float)v),
        _ => System.Array.ConvertAll(Data<int>(), v => (float)v),
    };

    /// <summary>The elements converted to float64, row-major.</summary>
    public double[] ToDoubleArray() => DType switch
    {
        DType.Float32 => System.Array.ConvertAll(Data<float>(), v => (double)v),
        DType.Float64 => Span<double>().ToArray(),
        _ => System.Array.ConvertAll(Data<int>(), v => (double)v),
    };

    /// <summary>The elements converted to int32 (truncating floats), row-major.</summary>
    public int[] ToIntArray() => DType switch
    {
        DType.Int32 => Span<int>().ToArray(),
        DType.Float32 => System.Array.ConvertAll(Data<float>(), v => (int)v),
        _ => System.Array.ConvertAll(Data<double>(), v => (int)v),
    };

    /// <summary>The single value of a one-element tensor.</summary>
    public double Item()
    {
        if (Numel != 1)
            throw new LoomException($"item: only a one-element tensor has a single value; this one has shape {Shape} ({Numel} elements)");
        return GetFlat(0);
    }

    internal double GetFlat(int index) => DType switch
    {
        DType.Float32 => Data<float>()[index],
        DType.Float64 => Data<double>()[index],
        _ => Data<int>()[index],
    };

    /// <summary>The element at the given indices (negative indices count from the end).</summary>
    [IndexerName("ValueAt")]
    public double this[params int[] indices] => GetFlat(FlatIndex(indices));

    internal int FlatIndex(ReadOnlySpan<int> indices)
    {
        if (indices.Length != Rank)
            throw new LoomException($"index: {indices.Length} indices given for a tensor of rank {Rank} (shape {Shape})");
        var flat = 0;
        for (var i = 0; i < Rank; i++)
        {
            var n = Shape.Dims[i];
            var ix = indices[i] < 0 ? indices[i] + n : indices[i];
            if (ix < 0 || ix >= n)
                throw new LoomException($"index: index {indices[i]} is out of range for axis {i} of size {n} (shape {Shape})");
            flat = flat * n + ix;
        }
        return flat;
    }

    /// <summary>A copy that does not require grad and is cut from the graph (PyTorch's <c>detach().clone()</c>).</summary>
    public Tensor Clone() => new((Array)LiveStorage.Clone(), Shape, DType);

    /// <summary>The same data cut from the graph: no gradient flows through the result.</summary>
    public Tensor Detach() => new(LiveStorage, Shape, DType);

    /// <summary>The array, or the recycled-tensor error.</summary>
    private Array LiveStorage => IsReleased ? throw ReleasedError(Shape, DType) : Storage;

    /// <summary>Copies <paramref name="source"/>'s values into this tensor in place (shapes must match; not recorded).</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Shape != Shape)
            throw new LoomException($"copy: source shape {source.Shape} differs from destination shape {Shape}");
        var converted = source.DType == DType ? source : source.To(DType);
        Array.Copy(converted.LiveStorage, LiveStorage, Numel);
    }

    /// <summary>Fills this tensor with <paramref name="value"/> in place (not recorded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public Tensor Fill_(double value)
    {
        switch (DType)
        {
            case DType.Float32: Span<float>().Fill((float)value); break;
            case DType.Float64: Span<double>().Fill(value); break;
            default: Span<int>().Fill((int)value); break;
        }
        return this;
    }

    /// <summary>Sets every element to zero in place.</summary>
    public Tensor Zero_() => Fill_(0);

    /// <summary>Converts to another element type (a copy; recorded for autograd between float types).</summary>
    public Tensor To(DType dtype) => Functional.ToDType(this, dtype);

    /// <summary>float64 copy (PyTorch's <c>double()</c>).</summary>
    public Tensor Double() => To(DType.Float64);

    /// <summary>float32 copy (PyTorch's <c>float()</c>).</summary>
    public Tensor Float() => To(DType.Float32);

    internal static void RequireFloat(Tensor t, string op)
    {
        if (t.DType == DType.Int32)
            throw new LoomException($"{op}: expected a float32 or float64 tensor, found int32 of shape {t.Shape}");
    }

    internal static void RequireSameDType(Tensor a, Tensor b, string op)
    {
        if (a.DType != b.DType)
            throw new LoomException($"{op}: operands have different types {a.DType.TorchName()} {a.Shape} and {b.DType.TorchName()} {b.Shape}; convert one with To()");
    }

    internal static bool IsFloat<T>() where T : INumberBase<T> => typeof(T) == typeof(float);
}
