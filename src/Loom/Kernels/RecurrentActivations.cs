using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>
/// The float32 sigmoid and tanh of the fused recurrent steps (Elman tanh, LSTM, GRU). σ(x) = 1 / (1 + e^(−x)) with a float-only e^x (Cephes' expf: range
/// reduction by n·ln 2 in two parts, a degree-6 polynomial, 2^n through the exponent bits), within a few ulp of the
/// exact value. TensorPrimitives' Sigmoid and Tanh compute e^x in double precision and were a quarter of an LSTM
/// H = 16 training step's samples (docs/performance.md).
/// Every element goes through the same vector code (a tail is padded into a full vector), so a value never depends on
/// where it sits in the span — splitting a block over threads changes no bit. NaN in gives NaN out.
/// </summary>
internal static class RecurrentActivations
{
    /// <summary>Whether these kernels run here (AVX-512F); otherwise callers use TensorPrimitives.</summary>
    public static bool Supported => Avx512F.IsSupported;

    /// <summary>x ← σ(x), in place.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // before tier 1, the inlined vector helpers would be calls
    public static void Sigmoid(Span<float> x)
    {
        ref var r = ref MemoryMarshal.GetReference(x);
        var i = 0;
        for (; i + 16 <= x.Length; i += 16) Sigmoid(Vector512.LoadUnsafe(ref r, (nuint)i)).StoreUnsafe(ref r, (nuint)i);
        if (i == x.Length) return;
        Span<float> tail = stackalloc float[16];
        tail.Clear();
        x[i..].CopyTo(tail);
        Sigmoid(Vector512.Create<float>(tail)).CopyTo(tail);
        tail[..(x.Length - i)].CopyTo(x[i..]);
    }

    /// <summary>σ of 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        var s = Vector512<float>.One / (Vector512<float>.One + Exp(-x));
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), s, x); // NaN stays NaN
    }

    /// <summary>x ← tanh(x), in place (see <see cref="Tanh(Vector512{float})"/>).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // before tier 1, the inlined vector helpers would be calls
    public static void Tanh(Span<float> x)
    {
        ref var r = ref MemoryMarshal.GetReference(x);
        var i = 0;
        for (; i + 16 <= x.Length; i += 16) Tanh(Vector512.LoadUnsafe(ref r, (nuint)i)).StoreUnsafe(ref r, (nuint)i);
        if (i == x.Length) return;
        Span<float> tail = stackalloc float[16];
        tail.Clear();
        x[i..].CopyTo(tail);
        Tanh(Vector512.Create<float>(tail)).CopyTo(tail);
        tail[..(x.Length - i)].CopyTo(x[i..]);
    }

    /// <summary>
    /// tanh of 16 lanes, as Cephes' tanhf: for |x| ≥ 0.625, 1 − 2 / (e^(2|x|) + 1) with x's sign; below, the odd
    /// polynomial x + x³·P(x²), which keeps the relative accuracy near 0 that 2σ(2x) − 1 would lose.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var large = Vector512<float>.One - Vector512.Create(2f) / (Exp(ax + ax) + Vector512<float>.One);
        large = large | (x & Vector512.Create(-0f)); // x's sign
        var z = x * x;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(-5.70498872745e-3f), z, Vector512.Create(2.06390887954e-2f));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(-5.37397155531e-2f));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.33314422036e-1f));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(-3.33332819422e-1f));
        var small = Vector512.FusedMultiplyAdd(p * z, x, x);
        var t = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(ax, Vector512.Create(0.625f)), large, small);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), t, x); // NaN stays NaN
    }

    /// <summary>
    /// e^x for x clamped to [−87.33, 88] (so that 2^n stays a normal float; σ needs no more: e^88 already makes
    /// 1 / (1 + e^88) smaller than 1e−38). NaN lanes give garbage here; <see cref="Sigmoid(Vector512{float})"/> restores them.
    /// The clamp and the conversion use the plain instructions (vmaxps/vminps, vcvtps2dq): .NET's Min/Max order NaN
    /// and ±0 and ConvertToInt32 saturates, fix-ups (≈ 15 instructions per LSTM unit vector) that change nothing here —
    /// n is a whole number within ±127, and NaN is restored by the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(-87.33f)), Vector512.Create(88f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        var y = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = ((Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23).AsSingle();
        return y * scale;
    }
}
