using System.Numerics;
using System.Numerics.Tensors;

namespace Loom;

/// <summary>
/// The fused gate math of one recurrent step for one sequence (one row of the batch), forward and backward side by
/// side. Spans and sizes only: the driver (<see cref="RecurrentFused"/>) hands in the row's slices of its buffers.
/// Every forward takes <c>gates</c> = the input projection W_ih·x + biases (precomputed for all steps by one GEMM)
/// and <c>gh</c> = W_hh·h_prev (+ b_hh for the GRU), and overwrites <c>gates</c> with the activated gates, which is all
/// the backward needs; the backward overwrites them again with ∂ℓ/∂(pre-activation).
/// </summary>
internal static class RecurrentKernels
{
    // ── Elman RNN ─────────────────────────────────────────────────────────────────────────────────────────────
    //   h = act(W_ih x + b_ih + W_hh h_prev + b_hh),  act = tanh or relu.
    //   ∂ℓ/∂pre = ∂ℓ/∂h ⊙ act'(pre) = ∂ℓ/∂h ⊙ (1 − h²)  or  ∂ℓ/∂h ⊙ [h > 0].

    public static void RnnForward<T>(Span<T> gates, ReadOnlySpan<T> gh, bool relu, Span<T> hNext)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Add(gates, gh, gates);
        if (relu) TensorPrimitives.Max(gates, T.Zero, gates);
        else TensorPrimitives.Tanh(gates, gates);
        gates.CopyTo(hNext);
    }

    public static void RnnBackward<T>(Span<T> gates, ReadOnlySpan<T> dh, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var j = 0; j < gates.Length; j++)
        {
            var y = gates[j];
            gates[j] = relu ? (y > T.Zero ? dh[j] : T.Zero) : dh[j] * (T.One - y * y);
        }
    }

    // ── LSTM (gates i, f, g, o) ───────────────────────────────────────────────────────────────────────────────
    //   i = σ(·), f = σ(·), g = tanh(·), o = σ(·);  c = f ⊙ c_prev + i ⊙ g;  h = o ⊙ tanh(c).
    //   ∂c = ∂c_next + ∂h ⊙ o ⊙ (1 − tanh²c);  ∂o = ∂h ⊙ tanh c;  ∂i = ∂c ⊙ g;  ∂g = ∂c ⊙ i;  ∂f = ∂c ⊙ c_prev;
    //   ∂c_prev = ∂c ⊙ f;  pre-activations: ∂i·i(1−i), ∂f·f(1−f), ∂g·(1−g²), ∂o·o(1−o).

    public static void LstmForward<T>(Span<T> gates, ReadOnlySpan<T> gh, ReadOnlySpan<T> cPrev, Span<T> cNext, Span<T> hNext)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = cPrev.Length;
        TensorPrimitives.Add(gates, gh, gates);
        var ifg = gates[..(2 * h)];
        TensorPrimitives.Sigmoid(ifg, ifg);
        var g = gates.Slice(2 * h, h);
        TensorPrimitives.Tanh(g, g);
        var o = gates.Slice(3 * h, h);
        TensorPrimitives.Sigmoid(o, o);
        TensorPrimitives.Multiply(gates[..h], g, cNext);
        TensorPrimitives.FusedMultiplyAdd(gates.Slice(h, h), cPrev, cNext, cNext);
        TensorPrimitives.Tanh(cNext, hNext);
        TensorPrimitives.Multiply(o, hNext, hNext);
    }

    /// <summary><paramref name="dc"/> holds ∂ℓ/∂c_t on entry and ∂ℓ/∂c_{t−1} on return; <paramref name="tanhC"/> is scratch.</summary>
    public static void LstmBackward<T>(Span<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> cNext, ReadOnlySpan<T> dh,
        Span<T> dc, Span<T> tanhC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = cPrev.Length;
        TensorPrimitives.Tanh(cNext, tanhC);
        for (var j = 0; j < h; j++)
        {
            var i = gates[j];
            var f = gates[h + j];
            var g = gates[2 * h + j];
            var o = gates[3 * h + j];
            var tc = tanhC[j];
            var dct = dc[j] + dh[j] * o * (T.One - tc * tc);
            var dO = dh[j] * tc;
            gates[j] = dct * g * i * (T.One - i);
            gates[h + j] = dct * cPrev[j] * f * (T.One - f);
            gates[2 * h + j] = dct * i * (T.One - g * g);
            gates[3 * h + j] = dO * o * (T.One - o);
            dc[j] = dct * f;
        }
    }

    // ── GRU (gates r, z, n) ───────────────────────────────────────────────────────────────────────────────────
    //   r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n) with h_· = W_h· h_prev + b_h·;
    //   h = (1 − z) ⊙ n + z ⊙ h_prev.
    //   ∂n = ∂h ⊙ (1 − z);  ∂z = ∂h ⊙ (h_prev − n);  ∂h_prev (direct) = ∂h ⊙ z;  ∂n_pre = ∂n ⊙ (1 − n²);
    //   ∂r = ∂n_pre ⊙ h_n;  input side ∂x_· = (∂r·r(1−r), ∂z·z(1−z), ∂n_pre);  hidden side ∂h_· = same but ∂n_pre ⊙ r.

    /// <summary><paramref name="ghn"/> receives W_hn h_prev + b_hn (the backward needs it for ∂r).</summary>
    public static void GruForward<T>(Span<T> gates, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> ghn, Span<T> hNext)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = hPrev.Length;
        var rz = gates[..(2 * h)];
        TensorPrimitives.Add(rz, gh[..(2 * h)], rz);
        TensorPrimitives.Sigmoid(rz, rz);
        var hn = gh.Slice(2 * h, h);
        hn.CopyTo(ghn);
        var n = gates.Slice(2 * h, h);
        TensorPrimitives.FusedMultiplyAdd(gates[..h], hn, n, n);
        TensorPrimitives.Tanh(n, n);
        // h = n + z ⊙ (h_prev − n)
        TensorPrimitives.Subtract(hPrev, n, hNext);
        TensorPrimitives.FusedMultiplyAdd(gates.Slice(h, h), hNext, n, hNext);
    }

    /// <summary>
    /// Writes ∂ℓ/∂(input-side pre-activations) over <paramref name="gates"/>, the hidden-side ones into
    /// <paramref name="dGh"/>, and the direct part of ∂ℓ/∂h_prev (∂h ⊙ z) into <paramref name="dhPrev"/>.
    /// </summary>
    public static void GruBackward<T>(Span<T> gates, Span<T> dGh, ReadOnlySpan<T> ghn, ReadOnlySpan<T> hPrev,
        ReadOnlySpan<T> dh, Span<T> dhPrev)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = hPrev.Length;
        for (var j = 0; j < h; j++)
        {
            var r = gates[j];
            var z = gates[h + j];
            var n = gates[2 * h + j];
            var d = dh[j];
            var dnPre = d * (T.One - z) * (T.One - n * n);
            var drPre = dnPre * ghn[j] * r * (T.One - r);
            var dzPre = d * (hPrev[j] - n) * z * (T.One - z);
            gates[j] = drPre;
            gates[h + j] = dzPre;
            gates[2 * h + j] = dnPre;
            dGh[j] = drPre;
            dGh[h + j] = dzPre;
            dGh[2 * h + j] = dnPre * r;
            dhPrev[j] = d * z;
        }
    }
}
