namespace Loom.Nn;

/// <summary>
/// The configuration of <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/>, with PyTorch's names and defaults.
/// </summary>
/// <param name="InputSize">Features per time step of the input (input_size).</param>
/// <param name="HiddenSize">Units of the hidden state (hidden_size).</param>
/// <example><code>var lstm = new Lstm(new RecurrentOptions(8, 128) { NumLayers = 2, BatchFirst = true });</code></example>
public sealed record RecurrentOptions(int InputSize, int HiddenSize)
{
    /// <summary>Stacked layers; layer l &gt; 0 reads layer l − 1's output (num_layers).</summary>
    public int NumLayers { get; init; } = 1;

    /// <summary>Whether the layers have the biases b_ih and b_hh (bias).</summary>
    public bool Bias { get; init; } = true;

    /// <summary>Input and output are [N, T, F] instead of [T, N, F] (batch_first). States stay [L·D, N, H].</summary>
    public bool BatchFirst { get; init; }

    /// <summary>Dropout probability on the output of every layer but the last, in training mode only (dropout).</summary>
    public double Dropout { get; init; }

    /// <summary>Adds a second direction reading the sequence backwards; outputs are concatenated (bidirectional).</summary>
    public bool Bidirectional { get; init; }
}

/// <summary>The nonlinearity of an Elman <see cref="Rnn"/>.</summary>
public enum RnnNonlinearity
{
    Tanh,
    Relu,
}

/// <summary>
/// How <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/> compute: the fused kernels with a hand-written
/// backward through time (fast, the default), or the cell composed from autograd ops step by step (the reference the
/// fused path is tested against).
/// </summary>
public enum RecurrentImplementation
{
    Fused,
    Composed,
}

/// <summary>
/// The state of a recurrent layer in PyTorch's shapes: <see cref="H"/> [L·D, N, H] (layers × directions, batch,
/// hidden) and, for the LSTM, the cell state <see cref="C"/> of the same shape.
/// </summary>
public sealed record RecurrentState(Tensor H, Tensor? C = null);

/// <summary>
/// What a recurrent layer returns: the top layer's hidden state at every step (<see cref="Output"/>, [T, N, D·H] or
/// [N, T, D·H] batch-first; zero at padded steps) and the final state of every layer and direction.
/// </summary>
public sealed record RecurrentOutput(Tensor Output, RecurrentState State)
{
    /// <summary>Final hidden states [L·D, N, H] (each sequence's state at its last valid step).</summary>
    public Tensor H => State.H;

    /// <summary>Final cell states [L·D, N, H] (LSTM only).</summary>
    public Tensor? C => State.C;
}

/// <summary>
/// The state carried from one step of a cell to the next: <see cref="H"/> = h[t] [N, H]; <see cref="C"/> = the LSTM's
/// cell state; <see cref="Past"/> = the older hidden states h[t−1], h[t−2], … that AttentionRNN(k) attends to.
/// </summary>
public sealed record CellState(Tensor H, Tensor? C = null, IReadOnlyList<Tensor>? Past = null);

/// <summary>A recurrent layer that runs over whole sequences.</summary>
public interface IRecurrent
{
    /// <summary>Features per step of the input.</summary>
    int InputSize { get; }

    /// <summary>Units of the hidden state.</summary>
    int HiddenSize { get; }

    /// <summary>Whether inputs and outputs are [N, T, F].</summary>
    bool BatchFirst { get; }

    /// <summary>
    /// Runs the layer over a batch of sequences.
    /// Args: input [T, N, in] (or [N, T, in] batch-first); initialState: h0 (and c0) [L·D, N, H], zeros when null;
    /// lengths: the valid length of each sequence (1 … T), as PyTorch's pack_padded_sequence with enforce_sorted=False.
    /// Padded steps leave the state unchanged, output zeros and receive no gradient.
    /// </summary>
    RecurrentOutput Forward(Tensor input, RecurrentState? initialState, int[]? lengths = null);
}

/// <summary>A recurrent cell that can be run one step at a time (gradient-flow analysis, generation, truncated BPTT).</summary>
public interface IRecurrentCell
{
    /// <summary>The model's name (<c>LSTM</c>, <c>GatedRNN</c>, …).</summary>
    string CellName { get; }

    /// <summary>Features per step of the input.</summary>
    int InputSize { get; }

    /// <summary>Units of the hidden state.</summary>
    int HiddenSize { get; }

    /// <summary>The state before the first step: zeros, h[0] = 0.</summary>
    CellState InitialState(int batch, DType dtype = DType.Float32);

    /// <summary>One step. Shape: x [N, in], state.H [N, H] → new state with H = h[t] [N, H].</summary>
    CellState Step(Tensor x, CellState state);
}
