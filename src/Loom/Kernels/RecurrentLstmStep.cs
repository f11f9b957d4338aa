using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// The float32 LSTM gate math of one step in ONE pass over its rows, 16 units at a time in registers: i, f, 2g, o
/// (pre-activations, with the g columns doubled by the driver) → σ → g = 2σ − 1, c = f ⊙ c_prev + i ⊙ g, tanh c,
/// h = o ⊙ tanh c. The general <see cref="RecurrentKernels.LstmForward{T}"/> makes five passes (σ over the block, c per
/// row, tanh over the block, h per row), which at H = 16 cost more in calls and reloads than the math. The same
/// element-wise operations in the same order, so a row's bits do not depend on which rows share its call.
/// Needs H a multiple of 16 and <see cref="RecurrentActivations.Supported"/>.
/// </summary>
internal static class RecurrentLstmStep
{
    /// <summary>Whether <see cref="Forward"/> takes hidden size <paramref name="h"/>.</summary>
    public static bool Takes(int h) => RecurrentActivations.Supported && h % 16 == 0 && h > 0;

    /// <summary>
    /// n rows: <paramref name="gates"/> [n·4H] pre-activations in, activations out (i, f, g, o); c into
    /// <paramref name="cNext"/>, tanh c into <paramref name="tanhC"/>, h into <paramref name="hNext"/> (all [n·H]).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(int n, int h, Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> cNext, Span<float> tanhC, Span<float> hNext)
    {
        if (!Takes(h)) throw new InvalidOperationException($"lstm step: hidden size {h} is not taken here");
        if (gates.Length < n * 4 * h || cPrev.Length < n * h || cNext.Length < n * h || tanhC.Length < n * h || hNext.Length < n * h)
            throw new ArgumentException($"lstm step: {n} rows of hidden size {h} need longer spans");
        ref var gr = ref MemoryMarshal.GetReference(gates);
        ref var cp = ref MemoryMarshal.GetReference(cPrev);
        ref var cn = ref MemoryMarshal.GetReference(cNext);
        ref var tc = ref MemoryMarshal.GetReference(tanhC);
        ref var hn = ref MemoryMarshal.GetReference(hNext);
        var two = Vector512.Create(2f);
        for (var b = 0; b < n; b++)
        {
            var row = (nuint)(b * 4 * h);
            var at = (nuint)(b * h);
            for (nuint j = 0; j < (nuint)h; j += 16)
            {
                var i = RecurrentActivations.Sigmoid(Vector512.LoadUnsafe(ref gr, row + j));
                var f = RecurrentActivations.Sigmoid(Vector512.LoadUnsafe(ref gr, row + (nuint)h + j));
                var g = (RecurrentActivations.Sigmoid(Vector512.LoadUnsafe(ref gr, row + (nuint)(2 * h) + j)) * two) - Vector512<float>.One;
                var o = RecurrentActivations.Sigmoid(Vector512.LoadUnsafe(ref gr, row + (nuint)(3 * h) + j));
                var c = (f * Vector512.LoadUnsafe(ref cp, at + j)) + (i * g);
                var t = RecurrentActivations.Tanh(c);
                i.StoreUnsafe(ref gr, row + j);
                f.StoreUnsafe(ref gr, row + (nuint)h + j);
                g.StoreUnsafe(ref gr, row + (nuint)(2 * h) + j);
                o.StoreUnsafe(ref gr, row + (nuint)(3 * h) + j);
                c.StoreUnsafe(ref cn, at + j);
                t.StoreUnsafe(ref tc, at + j);
                (o * t).StoreUnsafe(ref hn, at + j);
            }
        }
    }

    /// <summary>
    /// One row of the backward (<see cref="RecurrentKernels.LstmBackward{T}"/>'s math, operation for operation, 16 units
    /// per register instead of Vector&lt;float&gt;'s 8): <paramref name="gates"/> [4H] activations in, ∂ℓ/∂pre out;
    /// <paramref name="dc"/> ∂ℓ/∂c_t in, ∂ℓ/∂c_{t−1} out; ∂ℓ/∂h = <paramref name="carry"/> + <paramref name="dy"/>, and the
    /// carry is zeroed for the next product to fill.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(Span<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tanhC, Span<float> carry, ReadOnlySpan<float> dy, Span<float> dc)
    {
        var h = cPrev.Length;
        if (!Takes(h)) throw new InvalidOperationException($"lstm step: hidden size {h} is not taken here");
        if (gates.Length < 4 * h || tanhC.Length < h || carry.Length < h || dy.Length < h || dc.Length < h)
            throw new ArgumentException($"lstm step: a row of hidden size {h} needs longer spans");
        BackwardRow(h, ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(cPrev), ref MemoryMarshal.GetReference(tanhC),
            ref MemoryMarshal.GetReference(carry), ref MemoryMarshal.GetReference(dy), ref MemoryMarshal.GetReference(dc));
    }

    /// <summary>
    /// <see cref="Backward"/> for n consecutive rows of a step in one call (rows of <paramref name="gates"/> 4H apart,
    /// of <paramref name="dy"/> <paramref name="dyStride"/> apart, of the others H apart): at H = 16 the per-row calls
    /// and span checks cost about as much as a row's math. Row by row the same operations, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardRows(int n, int h, Span<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tanhC, Span<float> carry,
        ReadOnlySpan<float> dy, int dyStride, Span<float> dc)
    {
        if (!Takes(h)) throw new InvalidOperationException($"lstm step: hidden size {h} is not taken here");
        if (n <= 0) return;
        if (gates.Length < n * 4 * h || cPrev.Length < n * h || tanhC.Length < n * h || carry.Length < n * h || dc.Length < n * h
            || dyStride < h || dy.Length < ((n - 1) * dyStride) + h)
            throw new ArgumentException($"lstm step: {n} rows of hidden size {h} need longer spans");
        ref var gr = ref MemoryMarshal.GetReference(gates);
        ref var cp = ref MemoryMarshal.GetReference(cPrev);
        ref var tcr = ref MemoryMarshal.GetReference(tanhC);
        ref var ca = ref MemoryMarshal.GetReference(carry);
        ref var dyr = ref MemoryMarshal.GetReference(dy);
        ref var dcr = ref MemoryMarshal.GetReference(dc);
        for (var b = 0; b < n; b++)
        {
            var at = b * h;
            BackwardRow(h, ref Unsafe.Add(ref gr, 4 * at), ref Unsafe.Add(ref cp, at), ref Unsafe.Add(ref tcr, at), ref Unsafe.Add(ref ca, at),
                ref Unsafe.Add(ref dyr, b * dyStride), ref Unsafe.Add(ref dcr, at));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardRow(int h, ref float gr, ref float cp, ref float tcr, ref float ca, ref float dyr, ref float dcr)
    {
        var one = Vector512<float>.One;
        var (hf, hg, ho) = ((nuint)h, (nuint)(2 * h), (nuint)(3 * h));
        for (nuint j = 0; j < (nuint)h; j += 16)
        {
            var i = Vector512.LoadUnsafe(ref gr, j);
            var f = Vector512.LoadUnsafe(ref gr, hf + j);
            var g = Vector512.LoadUnsafe(ref gr, hg + j);
            var o = Vector512.LoadUnsafe(ref gr, ho + j);
            var tc = Vector512.LoadUnsafe(ref tcr, j);
            var d = Vector512.LoadUnsafe(ref ca, j) + Vector512.LoadUnsafe(ref dyr, j);
            Vector512<float>.Zero.StoreUnsafe(ref ca, j);
            var dct = Vector512.LoadUnsafe(ref dcr, j) + (d * o * (one - (tc * tc)));
            (dct * g * i * (one - i)).StoreUnsafe(ref gr, j);
            (dct * Vector512.LoadUnsafe(ref cp, j) * f * (one - f)).StoreUnsafe(ref gr, hf + j);
            (dct * i * (one - (g * g))).StoreUnsafe(ref gr, hg + j);
            (d * tc * o * (one - o)).StoreUnsafe(ref gr, ho + j);
            (dct * f).StoreUnsafe(ref dcr, j);
        }
    }
}
