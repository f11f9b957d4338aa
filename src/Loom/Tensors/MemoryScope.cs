using System.Runtime.CompilerServices;
namespace Loom;

/// <summary>
/// An opt-in region (like TorchSharp's <c>DisposeScope</c>, but nothing leaks without one) whose op outputs go back
/// to Loom's storage pool when it ends, so the next training step reuses their memory instead of allocating afresh.
/// Everything an operation, a module or <see cref="Tensor.Backward"/> creates on this thread inside the scope is
/// recycled at <see cref="Dispose"/>, except tensors passed to <see cref="Keep"/>. Tensors you create yourself
/// (<see cref="Tensor.Zeros(Shape, DType)"/>, <see cref="Tensor.Randn"/>, <see cref="Tensor.FromArray(float[], int[])"/>,
/// <see cref="Tensor.Clone"/>…), parameters, their <see cref="Tensor.Grad"/> and optimizer state are never recycled.
/// A recycled tensor is emptied: reading it afterwards throws a <see cref="LoomException"/> saying so, rather than
/// seeing another step's numbers. Results do not change: recycled arrays are fully overwritten before use.
/// The trainer runs every step of a stateless model in one of these.
/// </summary>
/// <example>
/// <code>
/// for (var step = 0; step &lt; steps; step++)
/// {
///     using var scope = MemoryScope.Begin();
///     opt.ZeroGrad();
///     var loss = Functional.CrossEntropy(model.Call(x), y);
///     loss.Backward();
///     opt.Step();
///     losses.Add(loss.Item());                  // a number: nothing to keep
///     // scope.Keep(logits) would let logits outlive the scope
/// }
/// </code>
/// </example>
public sealed class MemoryScope : IDisposable
{
    [ThreadStatic] private static MemoryScope? _current;

    private readonly MemoryScope? _outer;
    private readonly HashSet<Array> _rented = new(ReferenceEqualityComparer.Instance);
    private readonly List<Tensor> _tensors = [];
    private bool _disposed;

    private MemoryScope(MemoryScope? outer) => _outer = outer;

    /// <summary>The innermost open scope of this thread, or null.</summary>
    internal static MemoryScope? Current => _current;

    /// <summary>Opens a scope on this thread; dispose it (a <c>using</c>) to recycle what was made inside.</summary>
    public static MemoryScope Begin() => _current = new MemoryScope(_current);

    /// <summary>Lets <paramref name="tensor"/> (and the views sharing its values) outlive this scope: it moves to the
    /// enclosing scope, or to no scope at all (the GC's). Returns the tensor.</summary>
    public Tensor Keep(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var storage = tensor.Storage;
        if (_rented.Remove(storage)) _outer?._rented.Add(storage);
        return tensor;
    }

    /// <summary>Arrays this scope would recycle now (for tests).</summary>
    internal int RentedCount => _rented.Count;

    internal void Adopt(Array storage) => _rented.Add(storage);

    /// <summary>Called from <see cref="Tensor"/>'s constructor: views and outputs made here are invalidated with their storage.</summary>
    internal static void TrackNew(Tensor tensor) => _current?._tensors.Add(tensor);

    /// <summary>An array leaves every open scope of this thread (returned to the pool early, or now owned elsewhere).</summary>
    internal static void ForgetEverywhere(Array storage)
    {
        for (var s = _current; s is not null; s = s._outer)
            if (s._rented.Remove(storage)) return;
    }

    /// <summary>Recycles every array rented inside the scope and not kept; empties the tensors over them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public void Dispose()
    {
        if (_disposed) return;
        if (!ReferenceEquals(_current, this))
            throw new LoomException("memory_scope: scopes must end in the reverse order they began (an inner scope is still open)");
        _disposed = true;
        _current = _outer;
        foreach (var t in _tensors)
        {
            var storage = t.Storage;
            if (_rented.Contains(storage)) t.Release();
            else if (_outer is not null && _outer._rented.Contains(storage)) _outer._tensors.Add(t);
        }
        foreach (var storage in _rented) StoragePool.Return(storage);
        _rented.Clear();
        _tensors.Clear();
        if (_outer is null) StoragePool.Tick();
    }
}
