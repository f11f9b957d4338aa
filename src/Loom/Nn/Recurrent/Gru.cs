namespace Loom.Nn;

/// <summary>
/// Gated recurrent unit (PyTorch's <c>nn.GRU</c>), gates in PyTorch's order r, z, n:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h[t] = (1 − z) ⊙ n + z ⊙ h[t−1].
/// Args: <see cref="RecurrentOptions"/>. Parameters: weight_ih_l{k} [3H, in], weight_hh_l{k} [3H, H], bias_ih_l{k},
/// bias_hh_l{k} [3H] (and <c>_reverse</c>), all U(−1/√H, 1/√H).
/// Shape: input [T, N, in] (or [N, T, in] batch-first) → output [T, N, D·H]; h0, h_n [L·D, N, H].
/// </summary>
/// <example><code>
/// var gru = new Gru(new RecurrentOptions(27, 64) { BatchFirst = true });
/// var logits = head.Forward(gru.Forward(x));   // per-step outputs [N, T, 64] → [N, T, 27]
/// </code></example>
public sealed class Gru : RecurrentLayer
{
    public Gru(RecurrentOptions options, Generator? generator = null)
        : base(CellKind.Gru, options, generator)
    {
    }

    public Gru(int inputSize, int hiddenSize, Generator? generator = null)
        : this(new RecurrentOptions(inputSize, hiddenSize), generator)
    {
    }

    public override string CellName => "GRU";
}
