namespace Loom.Nn;

/// <summary>
/// The gated recurrent network of the seed's problem 1.2, with the logistic sigmoid σ(z) = 1/(1 + e⁻ᶻ):
/// c[t] = σ(W_c x[t] + W_h h[t−1]),  h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t],  h[0] = 0.
/// As in the sheet there are no biases. The gate c[t] decides per unit how much of the old state to keep: with c ≈ 1
/// the state (and the gradient flowing back through it, ∂h[t]/∂h[t−1] ≈ diag(c)) is carried unchanged.
/// Args: input_size, hidden_size, batch_first. Parameters: weight_c [H, in], weight_h [H, H], weight_x [H, in], all
/// U(−1/√H, 1/√H). Composed from autograd ops (no fused kernel).
/// Shape: input [T, N, in] (or [N, T, in] batch-first) → output [T, N, H]; h0, h_n [1, N, H].
/// One-step Jacobian: ∂h[t]/∂h[t−1] = diag(c[t]) + diag(h[t−1] − W_x x[t])·diag(c[t] ⊙ (1 − c[t]))·W_h.
/// </summary>
/// <example><code>
/// var model = new GatedRnn(8, 16, batchFirst: true);
/// var h = model.Forward(x, null).H;               // [1, N, 16] (initial state: zeros)
/// var s = model.Step(x0, model.InitialState(n));  // one step: s.H [N, 16]
/// </code></example>
public sealed class GatedRnn : Module, IRecurrent, IRecurrentCell
{
    private const string Op = "gated_rnn";

    public GatedRnn(int inputSize, int hiddenSize, bool batchFirst = false, Generator? generator = null)
    {
        RecurrentChecks.Sizes(Op, inputSize, hiddenSize);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        BatchFirst = batchFirst;
        var bound = 1 / Math.Sqrt(hiddenSize);
        Init.Uniform_(RegisterParameter("weight_c", Tensor.Zeros(hiddenSize, inputSize)), -bound, bound, generator);
        Init.Uniform_(RegisterParameter("weight_h", Tensor.Zeros(hiddenSize, hiddenSize)), -bound, bound, generator);
        Init.Uniform_(RegisterParameter("weight_x", Tensor.Zeros(hiddenSize, inputSize)), -bound, bound, generator);
    }

    public int InputSize { get; }

    public int HiddenSize { get; }

    public bool BatchFirst { get; }

    public string CellName => "GatedRNN";

    public override string TypeName => CellName;

    /// <summary>W_c [H, in]: the gate's input weights.</summary>
    public Tensor WeightC => Get("weight_c");

    /// <summary>W_h [H, H]: the gate's recurrent weights.</summary>
    public Tensor WeightH => Get("weight_h");

    /// <summary>W_x [H, in]: the candidate's input weights.</summary>
    public Tensor WeightX => Get("weight_x");

    public override Tensor Forward(Tensor input) => Forward(input, null, null).Output;

    /// <inheritdoc/>
    public RecurrentOutput Forward(Tensor input, RecurrentState? initialState, int[]? lengths = null) =>
        StepwiseSequence.Run(this, Op, input, BatchFirst, initialState, lengths);

    public CellState InitialState(int batch, DType dtype = DType.Float32) => new(Tensor.Zeros(new Shape(batch, HiddenSize), dtype));

    /// <summary>c = σ(W_c x + W_h h), h' = c ⊙ h + (1 − c) ⊙ W_x x. Shape: x [N, in], state.H [N, H] → [N, H].</summary>
    public CellState Step(Tensor x, CellState state)
    {
        RecurrentChecks.StepInput(Op, x, state, InputSize, HiddenSize);
        var h = state.H;
        var c = Functional.Sigmoid(Functional.Add(Functional.Linear(x, WeightC), Functional.Linear(h, WeightH)));
        var candidate = Functional.Linear(x, WeightX);
        return new CellState(Functional.Add(Functional.Mul(c, h), Functional.Mul(Functional.RSub(1, c), candidate)));
    }

    public override string ExtraRepr() => $"{InputSize}, {HiddenSize}" + (BatchFirst ? ", batch_first=True" : "");
}
