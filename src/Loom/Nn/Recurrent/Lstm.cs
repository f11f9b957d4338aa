namespace Loom.Nn;

/// <summary>
/// Long short-term memory (PyTorch's <c>nn.LSTM</c>), gates in PyTorch's order i, f, g, o:
/// [i f g o] = W_ih x[t] + b_ih + W_hh h[t−1] + b_hh; c[t] = σ(f) ⊙ c[t−1] + σ(i) ⊙ tanh(g); h[t] = σ(o) ⊙ tanh(c[t]).
/// Args: <see cref="RecurrentOptions"/>. Parameters: weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k},
/// bias_hh_l{k} [4H] (and <c>_reverse</c>), all U(−1/√H, 1/√H).
/// Shape: input [T, N, in] (or [N, T, in] batch-first) → output [T, N, D·H]; h0, c0, h_n, c_n [L·D, N, H].
/// </summary>
/// <example><code>
/// var lstm = new Lstm(new RecurrentOptions(8, 128) { BatchFirst = true });
/// var result = lstm.Forward(x, null, lengths);      // result.Output, result.H, result.C
/// var last = result.H;                              // [1, N, 128]: each sequence's state at its last valid step
/// </code></example>
public sealed class Lstm : RecurrentLayer
{
    public Lstm(RecurrentOptions options, Generator? generator = null)
        : base(CellKind.Lstm, options, generator)
    {
    }

    public Lstm(int inputSize, int hiddenSize, Generator? generator = null)
        : this(new RecurrentOptions(inputSize, hiddenSize), generator)
    {
    }

    public override string CellName => "LSTM";
}
