using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// The fused gate math of one recurrent step over the N rows of a batch, forward and backward side by side.
/// Spans and sizes only. Row b of a step block holds sequence b; gates are laid out per row as PyTorch orders them
/// (LSTM i, f, g, o; GRU r, z, n), H values each. The forward overwrites the gates with their activations, which is all
/// the backward needs besides the states; the backward overwrites them again with ∂ℓ/∂(pre-activation).
/// Transcendentals run once per step over the whole block (one TensorPrimitives call); the rest are Vector&lt;T&gt; loops.
/// </summary>
internal static class RecurrentKernels
{
    // ── Elman RNN ─────────────────────────────────────────────────────────────────────────────────────────────
    //   h = act(W_ih x + b_ih + W_hh h_prev + b_hh),  act = tanh or relu.
    //   ∂ℓ/∂pre = ∂ℓ/∂h ⊙ (1 − h²)  (tanh)  or  ∂ℓ/∂h ⊙ [h > 0]  (relu).

    /// <summary><paramref name="gates"/> [n·H] holds the pre-activations; afterwards h (also copied to <paramref name="hNext"/>).</summary>
    public static void RnnForward<T>(Span<T> gates, bool relu, Span<T> hNext)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (relu) TensorPrimitives.Max(gates, T.Zero, gates);
        else Tanh(gates);
        gates.CopyTo(hNext);
    }

    /// <summary>
    /// One row: <paramref name="gates"/> [H] holds h on entry, ∂ℓ/∂pre on return. ∂ℓ/∂h = <paramref name="carry"/>
    /// (from the next step) + <paramref name="dy"/> (from the output); the carry is zeroed for the next GEMM to fill
    /// (one call per row instead of an add, the kernel and a clear: at H = 16 the calls cost more than the math).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per row or per time step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void RnnBackward<T>(Span<T> gates, Span<T> carry, ReadOnlySpan<T> dy, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= gates.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var y = new Vector<T>(gates[j..]);
                var dh = new Vector<T>(carry[j..]) + new Vector<T>(dy[j..]);
                var d = relu ? Vector.ConditionalSelect(Vector.GreaterThan(y, Vector<T>.Zero), dh, Vector<T>.Zero) : dh * (Vector<T>.One - y * y);
                d.CopyTo(gates[j..]);
                Vector<T>.Zero.CopyTo(carry[j..]);
            }
        }
        for (; j < gates.Length; j++)
        {
            var y = gates[j];
            var dh = carry[j] + dy[j];
            gates[j] = relu ? (y > T.Zero ? dh : T.Zero) : dh * (T.One - y * y);
            carry[j] = T.Zero;
        }
    }

    // ── LSTM (gates i, f, g, o) ───────────────────────────────────────────────────────────────────────────────
    //   i = σ(·), f = σ(·), g = tanh(·), o = σ(·);  c = f ⊙ c_prev + i ⊙ g;  h = o ⊙ tanh(c).
    //   The g rows of the weights and biases are doubled by the driver, so ONE sigmoid over the block serves all four
    //   gates: tanh(x) = 2σ(2x) − 1.
    //   ∂c = ∂c_next + ∂h ⊙ o ⊙ (1 − tanh²c);  ∂o = ∂h ⊙ tanh c;  ∂i = ∂c ⊙ g;  ∂g = ∂c ⊙ i;  ∂f = ∂c ⊙ c_prev;
    //   ∂c_prev = ∂c ⊙ f;  pre-activations: ∂i·i(1−i), ∂f·f(1−f), ∂g·(1−g²), ∂o·o(1−o).

    /// <summary>
    /// A step over n rows: <paramref name="gates"/> [n·4H] holds the pre-activations (i, f, 2g, o); writes the
    /// activations back, c into <paramref name="cNext"/>, tanh c into <paramref name="tanhC"/>, h into <paramref name="hNext"/>
    /// (all [n·H]).
    /// </summary>
    public static void LstmForward<T>(int n, int h, Span<T> gates, ReadOnlySpan<T> cPrev, Span<T> cNext, Span<T> tanhC, Span<T> hNext)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && RecurrentLstmStep.Takes(h))
        {
            RecurrentLstmStep.Forward(n, h, MemoryMarshal.Cast<T, float>(gates), MemoryMarshal.Cast<T, float>(cPrev),
                MemoryMarshal.Cast<T, float>(cNext), MemoryMarshal.Cast<T, float>(tanhC), MemoryMarshal.Cast<T, float>(hNext));
            return;
        }
        Sigmoid(gates);
        var two = T.One + T.One;
        for (var b = 0; b < n; b++)
        {
            var row = gates.Slice(b * 4 * h, 4 * h);
            var i = row[..h];
            var f = row.Slice(h, h);
            var g = row.Slice(2 * h, h);
            var cp = cPrev.Slice(b * h, h);
            var c = cNext.Slice(b * h, h);
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vTwo = new Vector<T>(two);
                for (; j <= h - Vector<T>.Count; j += Vector<T>.Count)
                {
                    var gv = new Vector<T>(g[j..]) * vTwo - Vector<T>.One;
                    gv.CopyTo(g[j..]);
                    (new Vector<T>(f[j..]) * new Vector<T>(cp[j..]) + new Vector<T>(i[j..]) * gv).CopyTo(c[j..]);
                }
            }
            for (; j < h; j++)
            {
                g[j] = two * g[j] - T.One;
                c[j] = f[j] * cp[j] + i[j] * g[j];
            }
        }
        cNext.CopyTo(tanhC);
        Tanh(tanhC);
        for (var b = 0; b < n; b++)
            TensorPrimitives.Multiply(gates.Slice(b * 4 * h + 3 * h, h), tanhC.Slice(b * h, h), hNext.Slice(b * h, h));
    }

    /// <summary>
    /// One row: <paramref name="gates"/> [4H] holds the activations on entry and ∂ℓ/∂pre on return;
    /// <paramref name="dc"/> holds ∂ℓ/∂c_t on entry and ∂ℓ/∂c_{t−1} on return. ∂ℓ/∂h = <paramref name="carry"/> +
    /// <paramref name="dy"/>; the carry is zeroed (as in <see cref="RnnBackward"/>).
    /// </summary>
    public static void LstmBackward<T>(Span<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> tanhC, Span<T> carry, ReadOnlySpan<T> dy, Span<T> dc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = cPrev.Length;
        if (typeof(T) == typeof(float) && RecurrentLstmStep.Takes(h))
        {
            RecurrentLstmStep.Backward(MemoryMarshal.Cast<T, float>(gates), MemoryMarshal.Cast<T, float>(cPrev), MemoryMarshal.Cast<T, float>(tanhC),
                MemoryMarshal.Cast<T, float>(carry), MemoryMarshal.Cast<T, float>(dy), MemoryMarshal.Cast<T, float>(dc));
            return;
        }
        var gi = gates[..h];
        var gf = gates.Slice(h, h);
        var gg = gates.Slice(2 * h, h);
        var go = gates.Slice(3 * h, h);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<T>.One;
            for (; j <= h - Vector<T>.Count; j += Vector<T>.Count)
            {
                var (i, f, g, o) = (new Vector<T>(gi[j..]), new Vector<T>(gf[j..]), new Vector<T>(gg[j..]), new Vector<T>(go[j..]));
                var tc = new Vector<T>(tanhC[j..]);
                var d = new Vector<T>(carry[j..]) + new Vector<T>(dy[j..]);
                Vector<T>.Zero.CopyTo(carry[j..]);
                var dct = new Vector<T>(dc[j..]) + d * o * (one - tc * tc);
                (dct * g * i * (one - i)).CopyTo(gi[j..]);
                (dct * new Vector<T>(cPrev[j..]) * f * (one - f)).CopyTo(gf[j..]);
                (dct * i * (one - g * g)).CopyTo(gg[j..]);
                (d * tc * o * (one - o)).CopyTo(go[j..]);
                (dct * f).CopyTo(dc[j..]);
            }
        }
        for (; j < h; j++)
        {
            var (i, f, g, o, tc) = (gi[j], gf[j], gg[j], go[j], tanhC[j]);
            var dh = carry[j] + dy[j];
            carry[j] = T.Zero;
            var dct = dc[j] + dh * o * (T.One - tc * tc);
            gi[j] = dct * g * i * (T.One - i);
            gf[j] = dct * cPrev[j] * f * (T.One - f);
            gg[j] = dct * i * (T.One - g * g);
            go[j] = dh * tc * o * (T.One - o);
            dc[j] = dct * f;
        }
    }

    /// <summary>x ← σ(x): float32 through <see cref="RecurrentActivations"/> where it runs, else TensorPrimitives.</summary>
    private static void Sigmoid<T>(Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && RecurrentActivations.Supported) RecurrentActivations.Sigmoid(MemoryMarshal.Cast<T, float>(x));
        else TensorPrimitives.Sigmoid<T>(x, x);
    }

    /// <summary>x ← tanh(x): float32 through <see cref="RecurrentActivations"/> where it runs, else TensorPrimitives.</summary>
    private static void Tanh<T>(Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && RecurrentActivations.Supported) RecurrentActivations.Tanh(MemoryMarshal.Cast<T, float>(x));
        else TensorPrimitives.Tanh<T>(x, x);
    }

    // ── GRU (gates r, z, n) ───────────────────────────────────────────────────────────────────────────────────
    //   r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n) with h_· = W_h· h_prev + b_h·;
    //   h = (1 − z) ⊙ n + z ⊙ h_prev.
    //   ∂n = ∂h ⊙ (1 − z);  ∂z = ∂h ⊙ (h_prev − n);  ∂h_prev (direct) = ∂h ⊙ z;  ∂n_pre = ∂n ⊙ (1 − n²);
    //   ∂r = ∂n_pre ⊙ h_n;  input side ∂x_· = (∂r·r(1−r), ∂z·z(1−z), ∂n_pre);  hidden side ∂h_· = same but ∂n_pre ⊙ r.

    /// <summary>
    /// A step over n rows: <paramref name="gates"/> [n·3H] holds the input side x_· (with b_ih), <paramref name="gh"/>
    /// [n·3H] the hidden side h_· (with b_hh); writes r, z, n over the gates, h_n into <paramref name="ghn"/> and h into
    /// <paramref name="hNext"/> (both [n·H]); <paramref name="scratch"/> is [n·H].
    /// </summary>
    public static void GruForward<T>(int n, int h, Span<T> gates, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> ghn,
        Span<T> hNext, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g3 = 3 * h;
        for (var b = 0; b < n; b++)
        {
            var rz = gates.Slice(b * g3, 2 * h);
            TensorPrimitives.Add(rz, gh.Slice(b * g3, 2 * h), rz);
            gates.Slice(b * g3 + 2 * h, h).CopyTo(scratch.Slice(b * h, h));
            gh.Slice(b * g3 + 2 * h, h).CopyTo(ghn.Slice(b * h, h));
        }
        Sigmoid(gates);                                         // r and z (the n columns are rewritten below)
        for (var b = 0; b < n; b++)
            TensorPrimitives.FusedMultiplyAdd(gates.Slice(b * g3, h), ghn.Slice(b * h, h), scratch.Slice(b * h, h), scratch.Slice(b * h, h));
        Tanh(scratch);                                          // n for every row
        for (var b = 0; b < n; b++)
        {
            var nRow = scratch.Slice(b * h, h);
            var z = gates.Slice(b * g3 + h, h);
            var hp = hPrev.Slice(b * h, h);
            var hn = hNext.Slice(b * h, h);
            nRow.CopyTo(gates.Slice(b * g3 + 2 * h, h));
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j <= h - Vector<T>.Count; j += Vector<T>.Count)
                {
                    var nv = new Vector<T>(nRow[j..]);
                    (nv + new Vector<T>(z[j..]) * (new Vector<T>(hp[j..]) - nv)).CopyTo(hn[j..]);
                }
            }
            for (; j < h; j++) hn[j] = nRow[j] + z[j] * (hp[j] - nRow[j]);
        }
    }

    /// <summary>
    /// One row: writes ∂ℓ/∂(input-side pre-activations) over <paramref name="gates"/> [3H], the hidden-side ones into
    /// <paramref name="dGh"/> [3H]. ∂ℓ/∂h = <paramref name="carry"/> + <paramref name="dy"/>; the carry is replaced by the
    /// direct part of ∂ℓ/∂h_prev (∂h ⊙ z).
    /// </summary>
    public static void GruBackward<T>(Span<T> gates, Span<T> dGh, ReadOnlySpan<T> ghn, ReadOnlySpan<T> hPrev,
        Span<T> carry, ReadOnlySpan<T> dy)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var h = hPrev.Length;
        var dhPrev = carry;
        var gr = gates[..h];
        var gz = gates.Slice(h, h);
        var gn = gates.Slice(2 * h, h);
        var hr = dGh[..h];
        var hz = dGh.Slice(h, h);
        var hn = dGh.Slice(2 * h, h);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<T>.One;
            for (; j <= h - Vector<T>.Count; j += Vector<T>.Count)
            {
                var (r, z, n) = (new Vector<T>(gr[j..]), new Vector<T>(gz[j..]), new Vector<T>(gn[j..]));
                var d = new Vector<T>(carry[j..]) + new Vector<T>(dy[j..]);
                var dnPre = d * (one - z) * (one - n * n);
                var drPre = dnPre * new Vector<T>(ghn[j..]) * r * (one - r);
                var dzPre = d * (new Vector<T>(hPrev[j..]) - n) * z * (one - z);
                drPre.CopyTo(gr[j..]);
                dzPre.CopyTo(gz[j..]);
                dnPre.CopyTo(gn[j..]);
                drPre.CopyTo(hr[j..]);
                dzPre.CopyTo(hz[j..]);
                (dnPre * r).CopyTo(hn[j..]);
                (d * z).CopyTo(dhPrev[j..]);
            }
        }
        for (; j < h; j++)
        {
            var (r, z, n, d) = (gr[j], gz[j], gn[j], carry[j] + dy[j]);
            var dnPre = d * (T.One - z) * (T.One - n * n);
            var drPre = dnPre * ghn[j] * r * (T.One - r);
            var dzPre = d * (hPrev[j] - n) * z * (T.One - z);
            gr[j] = drPre;
            gz[j] = dzPre;
            gn[j] = dnPre;
            hr[j] = drPre;
            hz[j] = dzPre;
            hn[j] = dnPre * r;
            dhPrev[j] = d * z;
        }
    }

    // ── Layout helpers ────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>dst[j·rows + i] = src[i·cols + j]: a [rows, cols] matrix transposed, in cache-sized tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per row or per time step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Transpose<T>(ReadOnlySpan<T> src, int rows, int cols, Span<T> dst)
    {
        const int Tile = 16;
        for (var i0 = 0; i0 < rows; i0 += Tile)
        {
            var ie = Math.Min(i0 + Tile, rows);
            for (var j0 = 0; j0 < cols; j0 += Tile)
            {
                var je = Math.Min(j0 + Tile, cols);
                for (var i = i0; i < ie; i++)
                    for (var j = j0; j < je; j++) dst[j * rows + i] = src[i * cols + j];
            }
        }
    }

    /// <summary>[a, b, inner] → [b, a, inner] (batch-first ↔ time-major).</summary>
    public static void SwapLeadingAxes<T>(ReadOnlySpan<T> src, int a, int b, int inner, Span<T> dst)
    {
        for (var i = 0; i < a; i++)
            for (var j = 0; j < b; j++) src.Slice((i * b + j) * inner, inner).CopyTo(dst.Slice((j * a + i) * inner, inner));
    }
}
