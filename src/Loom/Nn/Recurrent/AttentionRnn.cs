namespace Loom.Nn;

/// <summary>
/// AttentionRNN(k) of the seed's problem 1.2: at each step the input and the last k hidden states are projected to
/// queries, keys and values, q₀ = Q₀ x[t], qᵢ = Qᵢ h[t−i] (kᵢ, vᵢ likewise with Kᵢ, Vᵢ); wᵢ = qᵢᵀ kᵢ;
/// a[t] = softargmax(w₀ … w_k); h[t] = Σᵢ aᵢ[t] vᵢ[t]; h[t] = 0 for t &lt; 1. No biases, no 1/√H scaling (as in the sheet).
/// With finite k all k past slots always take part (states before the start are zero: w = 0, v = 0, as the equations
/// read). With k = <see cref="Infinite"/>, Qᵢ, Kᵢ, Vᵢ are shared for i ≥ 1 and step t attends to x[t] and every earlier
/// state h[t−1], …, h[0] (h[0] = 0 or the initial state).
/// Args: input_size, hidden_size, k ≥ 1 or <see cref="Infinite"/>, batch_first. Parameters: weight_q0, weight_k0,
/// weight_v0 [H, in]; weight_qi, weight_ki, weight_vi [H, H] for i = 1 … k (one shared set, i = 1, for k = ∞); all
/// U(−1/√H, 1/√H). Composed from autograd ops.
/// Shape: input [T, N, in] (or [N, T, in] batch-first) → output [T, N, H]; h0, h_n [1, N, H].
/// One-step Jacobian of AttentionRNN(2) (h[t−2] held fixed):
/// ∂h[t]/∂h[t−1] = a₁ (V₁ + (v₁ − h[t]) h[t−1]ᵀ (Q₁ᵀK₁ + K₁ᵀQ₁)).
/// </summary>
/// <example><code>
/// var model = new AttentionRnn(8, 16, k: 2, batchFirst: true);
/// var output = model.Forward(x);                     // [N, T, 16]
/// var unbounded = new AttentionRnn(8, 16, AttentionRnn.Infinite);
/// </code></example>
public sealed class AttentionRnn : Module, IRecurrent, IRecurrentCell
{
    /// <summary>k = ∞: attend to every earlier state, with shared weights for i ≥ 1.</summary>
    public const int Infinite = int.MaxValue;

    private const string Op = "attention_rnn";

    public AttentionRnn(int inputSize, int hiddenSize, int k, bool batchFirst = false, Generator? generator = null)
    {
        RecurrentChecks.Sizes(Op, inputSize, hiddenSize);
        if (k < 1) throw new LoomException($"{Op}: k must be at least 1 (or AttentionRnn.Infinite for k = ∞), found {k}");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        K = k;
        BatchFirst = batchFirst;
        var bound = 1 / Math.Sqrt(hiddenSize);
        var sets = IsInfinite ? 1 : k;
        for (var i = 0; i <= sets; i++)
        {
            var cols = i == 0 ? inputSize : hiddenSize;
            foreach (var name in new[] { "q", "k", "v" })
                Init.Uniform_(RegisterParameter($"weight_{name}{i}", Tensor.Zeros(hiddenSize, cols)), -bound, bound, generator);
        }
    }

    public int InputSize { get; }

    public int HiddenSize { get; }

    /// <summary>How many past states each step attends to (<see cref="Infinite"/>: all).</summary>
    public int K { get; }

    public bool IsInfinite => K == Infinite;

    public bool BatchFirst { get; }

    public string CellName => IsInfinite ? "AttentionRNN(inf)" : $"AttentionRNN({K})";

    public override string TypeName => "AttentionRNN";

    /// <summary>Qᵢ, Kᵢ, Vᵢ of source i (0: the input; i ≥ 1: h[t−i]; shared for i ≥ 1 when k = ∞).</summary>
    public (Tensor Q, Tensor K, Tensor V) Weights(int i)
    {
        var j = IsInfinite ? Math.Min(i, 1) : i;
        if (i < 0 || (!IsInfinite && i > K)) throw new LoomException($"{Op}: source {i} is outside 0..{K}");
        return (Get($"weight_q{j}"), Get($"weight_k{j}"), Get($"weight_v{j}"));
    }

    public override Tensor Forward(Tensor input) => Forward(input, null, null).Output;

    /// <inheritdoc/>
    public RecurrentOutput Forward(Tensor input, RecurrentState? initialState, int[]? lengths = null) =>
        StepwiseSequence.Run(this, Op, input, BatchFirst, initialState, lengths);

    /// <summary>h[0] = 0 and, for finite k, k − 1 older zero states.</summary>
    public CellState InitialState(int batch, DType dtype = DType.Float32)
    {
        var zero = Tensor.Zeros(new Shape(batch, HiddenSize), dtype);
        var past = new List<Tensor>();
        if (!IsInfinite) for (var i = 1; i < K; i++) past.Add(zero);
        return new CellState(zero, Past: past);
    }

    /// <summary>
    /// One step: sources x[t] (i = 0), state.H = h[t−1] (i = 1), state.Past = h[t−2], … (i ≥ 2).
    /// Shape: x [N, in], state.H [N, H] → new state with H = h[t] [N, H] and Past = [h[t−1], …].
    /// </summary>
    public CellState Step(Tensor x, CellState state)
    {
        RecurrentChecks.StepInput(Op, x, state, InputSize, HiddenSize);
        var past = state.Past ?? [];
        var sources = new List<Tensor> { x, state.H };
        var older = IsInfinite ? past.Count : Math.Min(past.Count, K - 1);
        for (var i = 0; i < older; i++) sources.Add(past[i]);
        // Missing slots (a hand-made state with a short history) are zero states.
        if (!IsInfinite) while (sources.Count < K + 1) sources.Add(Tensor.ZerosLike(state.H));

        var scores = new Tensor[sources.Count];
        var values = new Tensor[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            var (wq, wk, wv) = Weights(i);
            var q = Functional.Linear(sources[i], wq);
            var k = Functional.Linear(sources[i], wk);
            scores[i] = Functional.Sum(Functional.Mul(q, k), 1, keepDim: true);    // wᵢ = qᵢᵀkᵢ, [N, 1]
            values[i] = Functional.Linear(sources[i], wv);                            // vᵢ, [N, H]
        }
        var a = Functional.Softmax(Functional.Concat(scores, 1), 1);                  // [N, k+1]
        var h = Functional.Sum(Functional.Mul(Functional.Unsqueeze(a, 2), Functional.Stack(values, 1)), 1);
        var newPast = new List<Tensor>(past.Count + 1) { state.H };
        var keep = IsInfinite ? past.Count : Math.Min(past.Count, K - 2);
        for (var i = 0; i < keep; i++) newPast.Add(past[i]);
        return new CellState(h, Past: newPast);
    }

    public override string ExtraRepr() =>
        $"{InputSize}, {HiddenSize}, k={(IsInfinite ? "inf" : K.ToString())}" + (BatchFirst ? ", batch_first=True" : "");
}
