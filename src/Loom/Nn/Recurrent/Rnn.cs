namespace Loom.Nn;

/// <summary>
/// Elman recurrent network (PyTorch's <c>nn.RNN</c>): h[t] = act(W_ih x[t] + b_ih + W_hh h[t−1] + b_hh), act = tanh or relu.
/// Args: <see cref="RecurrentOptions"/> (input_size, hidden_size, num_layers, bias, batch_first, dropout,
/// bidirectional) and the nonlinearity. Parameters: weight_ih_l{k} [H, in], weight_hh_l{k} [H, H], bias_ih_l{k},
/// bias_hh_l{k} [H] (and <c>_reverse</c>), all U(−1/√H, 1/√H).
/// Shape: input [T, N, in] (or [N, T, in] batch-first) → output [T, N, D·H] (or [N, T, D·H]); h0, h_n [L·D, N, H]
/// with D = 2 if bidirectional else 1, L = num_layers.
/// </summary>
/// <example><code>
/// var rnn = new Rnn(new RecurrentOptions(8, 16) { BatchFirst = true });
/// var result = rnn.Forward(Tensor.Zeros(32, 50, 8), null);   // result.Output [32, 50, 16], result.H [1, 32, 16]
/// Tensor output = rnn.Forward(Tensor.Zeros(32, 50, 8));       // the output sequence only (Module.Forward)
/// </code></example>
public sealed class Rnn : RecurrentLayer
{
    public Rnn(RecurrentOptions options, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh, Generator? generator = null)
        : base(nonlinearity == RnnNonlinearity.Relu ? CellKind.RnnRelu : CellKind.RnnTanh, options, generator)
    {
        Nonlinearity = nonlinearity;
    }

    public Rnn(int inputSize, int hiddenSize, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh, Generator? generator = null)
        : this(new RecurrentOptions(inputSize, hiddenSize), nonlinearity, generator)
    {
    }

    /// <summary>tanh or relu.</summary>
    public RnnNonlinearity Nonlinearity { get; }

    public override string CellName => "RNN";
}
