using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// Element loops of the training step that TensorPrimitives also has, written out here: the same IEEE results, but
/// compiled once, optimized, at the first call. TensorPrimitives' generic instantiations (an operator struct, its
/// Vector128/256/512 paths, remainder masks) were compiled up to three times by the tiered JIT over the first ~70
/// training steps, on a thread that shares the two cores with the compute (docs/performance.md, "JIT warm-up").
/// Vector512 where the hardware has it, else Vector256, else scalar (the checks are JIT-time constants). Destinations
/// may be the sources (in place).
/// </summary>
internal static class ElementKernels
{
    /// <summary>d = max(s, 0), IEEE 754:2019 maximum (NaN stays NaN, max(−0, 0) = 0): ReLU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu<T>(ReadOnlySpan<T> s, Span<T> d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = s.Length;
        if (d.Length < n) throw new ArgumentException("relu: destination shorter than the source");
        ref var sr = ref MemoryMarshal.GetReference(s);
        ref var dr = ref MemoryMarshal.GetReference(d);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                Vector512.Max(Vector512.LoadUnsafe(ref sr, (nuint)i), Vector512<T>.Zero).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                Vector256.Max(Vector256.LoadUnsafe(ref sr, (nuint)i), Vector256<T>.Zero).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) d[i] = T.Max(s[i], T.Zero);
    }

    /// <summary>d = s + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScalar<T>(ReadOnlySpan<T> s, T b, Span<T> d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = s.Length;
        if (d.Length < n) throw new ArgumentException("add: destination shorter than the source");
        ref var sr = ref MemoryMarshal.GetReference(s);
        ref var dr = ref MemoryMarshal.GetReference(d);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vb = Vector512.Create(b);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref sr, (nuint)i) + vb).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vb = Vector256.Create(b);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref sr, (nuint)i) + vb).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) d[i] = s[i] + b;
    }

    /// <summary>d = a + b, elementwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d)
        where T : unmanaged, INumber<T>
    {
        var n = d.Length;
        if (a.Length < n || b.Length < n) throw new ArgumentException("add: sources shorter than the destination");
        ref var ar = ref MemoryMarshal.GetReference(a);
        ref var br = ref MemoryMarshal.GetReference(b);
        ref var dr = ref MemoryMarshal.GetReference(d);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref ar, (nuint)i) + Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref ar, (nuint)i) + Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) d[i] = a[i] + b[i];
    }

    /// <summary>
    /// Σ s: whole vectors into one vector of lane sums, the lanes added as Vector512.Sum (Vector256.Sum) does, then
    /// the tail in order. The same order for every call of the same length on a machine, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Sum<T>(ReadOnlySpan<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = s.Length;
        ref var sr = ref MemoryMarshal.GetReference(s);
        var i = 0;
        var total = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512<T>.Zero;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count) acc += Vector512.LoadUnsafe(ref sr, (nuint)i);
            total = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count) acc += Vector256.LoadUnsafe(ref sr, (nuint)i);
            total = Vector256.Sum(acc);
        }
        for (; i < n; i++) total += s[i];
        return total;
    }
}
