using System.Runtime.CompilerServices;
namespace Loom;

/// <summary>
/// Element arrays keyed by type and exact length, so that a training loop whose shapes repeat every step reuses the
/// same arrays instead of asking the GC (and the kernel, page by page) for fresh ones. Only the engine returns arrays
/// here, and only when it can prove nothing else reads them: gradients consumed inside <see cref="Tensor.Backward"/>,
/// a node's private scratch after its backward, and the op outputs of a <see cref="MemoryScope"/> that ends.
/// Contents are not cleared: every renter overwrites its array (or clears it, see <see cref="Tensor.EmptyZeroed"/>).
/// </summary>
internal static class StoragePool
{
    /// <summary>Below this many elements an array is cheaper to allocate than to look up.</summary>
    public const int MinLength = 32;

    /// <summary>False when the environment sets <c>LOOM_STORAGE_POOL=0</c>: every array is then fresh and nothing is
    /// recycled (the behaviour before the pool, for before/after measurements).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("LOOM_STORAGE_POOL") != "0";

    /// <summary>Pooled bytes kept at most; arrays returned beyond it are left to the GC.</summary>
    public static long MaxPooledBytes { get; set; } = 512L << 20;

    /// <summary>A length not asked for during this many ticks (scopes ended, backward passes) is dropped: shapes that
    /// changed for good (variable sequence lengths, a new batch size) must not keep their arrays alive forever.</summary>
    public const int StaleTicks = 4096;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<(Type Element, int Length), Bucket> Free = [];
    private static long _pooledBytes;
    private static long _clock;
    private static long _rentHits;
    private static long _returned;

    /// <summary>Arrays rented on this thread while a backward pass runs (the pass may give them back).</summary>
    [ThreadStatic] private static HashSet<Array>? _ledger;

    /// <summary>Bytes now held in the pool.</summary>
    public static long PooledBytes
    {
        get { lock (Gate) return _pooledBytes; }
    }

    /// <summary>Rents served from the pool and arrays returned to it since the process started (for tests).</summary>
    public static (long Hits, long Returned) Counters
    {
        get { lock (Gate) return (_rentHits, _returned); }
    }

    /// <summary>An array of exactly <paramref name="length"/> elements, contents undefined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static T[] Rent<T>(int length) where T : unmanaged
    {
        T[]? array = null;
        if (length >= MinLength && Enabled)
        {
            lock (Gate)
            {
                if (Free.TryGetValue((typeof(T), length), out var bucket))
                    bucket.LastUse = _clock;
                if (bucket is { Arrays.Count: > 0 })
                {
                    array = (T[])bucket.Arrays.Pop();
                    _pooledBytes -= Bytes(array);
                    _rentHits++;
                }
            }
            array ??= GC.AllocateUninitializedArray<T>(length);
            _ledger?.Add(array);
            MemoryScope.Current?.Adopt(array);
            return array;
        }
        return GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>Gives an array back. The caller guarantees no tensor will read or write it again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Return(Array array)
    {
        if (array.Length < MinLength || !Enabled) return;
        MemoryScope.ForgetEverywhere(array);
        _ledger?.Remove(array);
        var bytes = Bytes(array);
        lock (Gate)
        {
            if (_pooledBytes + bytes > MaxPooledBytes) return;
            var key = (array.GetType().GetElementType()!, array.Length);
            if (!Free.TryGetValue(key, out var bucket)) Free[key] = bucket = new Bucket { LastUse = _clock };
            // A second return of the same array would hand it to two renters at once: fail loudly instead.
            foreach (var held in bucket.Arrays)
                if (ReferenceEquals(held, array))
                    throw new InvalidOperationException($"internal: a {key.Item1.Name}[{array.Length}] was returned to the storage pool twice");
            bucket.Arrays.Push(array);
            _pooledBytes += bytes;
            _returned++;
        }
    }

    /// <summary>One tick of the pool's clock (an outermost scope ended, a backward pass finished); every
    /// <see cref="StaleTicks"/> ticks, lengths unused for that long are dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Tick()
    {
        lock (Gate)
        {
            if (++_clock % StaleTicks != 0) return;
            List<(Type, int)>? stale = null;
            foreach (var (key, bucket) in Free)
                if (bucket.LastUse < _clock - StaleTicks) (stale ??= []).Add(key);
            if (stale is null) return;
            foreach (var key in stale)
            {
                foreach (var a in Free[key].Arrays) _pooledBytes -= Bytes(a);
                Free.Remove(key);
            }
        }
    }

    /// <summary>Drops every pooled array (tests; or to give memory back after a phase with other shapes).</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            Free.Clear();
            _pooledBytes = 0;
        }
    }

    /// <summary>Starts recording the arrays rented on this thread; returns the set (the backward pass owns it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    internal static HashSet<Array> BeginLedger()
    {
        var ledger = new HashSet<Array>(ReferenceEqualityComparer.Instance);
        _ledger = ledger;
        return ledger;
    }

    internal static void EndLedger(HashSet<Array>? previous) => _ledger = previous;

    internal static HashSet<Array>? CurrentLedger => _ledger;

    private sealed class Bucket
    {
        public readonly Stack<Array> Arrays = new();
        public long LastUse;
    }

    private static long Bytes(Array a) => (long)a.Length * (a is double[]? 8 : 4);
}
