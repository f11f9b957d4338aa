namespace Loom.Nn;

/// <summary>
/// What <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/> share: PyTorch's parameters
/// (<c>weight_ih_l{k}</c> [gates·H, in], <c>weight_hh_l{k}</c> [gates·H, H], <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c>
/// [gates·H], <c>_reverse</c> for the second direction; layer k &gt; 0 reads D·H features), their initialisation
/// U(−1/√H, 1/√H), the checks of the input, and the two implementations (fused, composed).
/// </summary>
public abstract class RecurrentLayer : Module, IRecurrent, IRecurrentCell
{
    private readonly CellKind _kind;
    private readonly string _op;

    private protected RecurrentLayer(CellKind kind, RecurrentOptions options, Generator? generator)
    {
        _kind = kind;
        _op = kind switch { CellKind.Lstm => "lstm", CellKind.Gru => "gru", _ => "rnn" };
        RecurrentChecks.Sizes(_op, options.InputSize, options.HiddenSize);
        if (options.NumLayers < 1) throw new LoomException($"{_op}: num_layers must be at least 1, found {options.NumLayers}");
        if (!(options.Dropout >= 0 && options.Dropout < 1))
            throw new LoomException($"{_op}: dropout must be in [0, 1), found {options.Dropout}");
        Options = options;
        var gates = Spec.Gates * options.HiddenSize;
        var bound = 1 / Math.Sqrt(options.HiddenSize);
        for (var l = 0; l < options.NumLayers; l++)
        {
            var inSize = l == 0 ? options.InputSize : Directions * options.HiddenSize;
            for (var d = 0; d < Directions; d++)
            {
                var suffix = $"_l{l}" + (d == 1 ? "_reverse" : "");
                Init.Uniform_(RegisterParameter("weight_ih" + suffix, Tensor.Zeros(gates, inSize)), -bound, bound, generator);
                Init.Uniform_(RegisterParameter("weight_hh" + suffix, Tensor.Zeros(gates, options.HiddenSize)), -bound, bound, generator);
                if (!options.Bias) continue;
                Init.Uniform_(RegisterParameter("bias_ih" + suffix, Tensor.Zeros(gates)), -bound, bound, generator);
                Init.Uniform_(RegisterParameter("bias_hh" + suffix, Tensor.Zeros(gates)), -bound, bound, generator);
            }
        }
    }

    /// <summary>The configuration.</summary>
    public RecurrentOptions Options { get; }

    public int InputSize => Options.InputSize;

    public int HiddenSize => Options.HiddenSize;

    public int NumLayers => Options.NumLayers;

    public bool BatchFirst => Options.BatchFirst;

    /// <summary>1, or 2 when bidirectional.</summary>
    public int Directions => Options.Bidirectional ? 2 : 1;

    /// <summary>Fused kernels (default) or the composed reference path.</summary>
    public RecurrentImplementation Implementation { get; set; } = RecurrentImplementation.Fused;

    /// <summary>The generator of the dropout masks between layers (null: <see cref="Rng.Global"/>).</summary>
    public Generator? Generator { get; set; }

    public abstract string CellName { get; }

    public override string TypeName => CellName;

    internal RecurrentShape Spec => new(_kind, Options.NumLayers, Directions, Options.InputSize, Options.HiddenSize, Options.Bias, Options.BatchFirst);

    /// <summary>weight_ih of a layer and direction: [gates·H, in].</summary>
    public Tensor WeightIh(int layer, bool reverse = false) => Get($"weight_ih_l{layer}" + (reverse ? "_reverse" : ""));

    /// <summary>weight_hh of a layer and direction: [gates·H, H].</summary>
    public Tensor WeightHh(int layer, bool reverse = false) => Get($"weight_hh_l{layer}" + (reverse ? "_reverse" : ""));

    /// <summary>bias_ih of a layer and direction (null without biases).</summary>
    public Tensor? BiasIh(int layer, bool reverse = false) => Options.Bias ? Get($"bias_ih_l{layer}" + (reverse ? "_reverse" : "")) : null;

    /// <summary>bias_hh of a layer and direction (null without biases).</summary>
    public Tensor? BiasHh(int layer, bool reverse = false) => Options.Bias ? Get($"bias_hh_l{layer}" + (reverse ? "_reverse" : "")) : null;

    /// <summary>The output sequence only (see <see cref="Forward(Tensor, RecurrentState?, int[])"/>).</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null, null).Output;

    /// <inheritdoc/>
    public RecurrentOutput Forward(Tensor input, RecurrentState? initialState, int[]? lengths = null)
    {
        var (steps, batch) = RecurrentChecks.Input(_op, input, InputSize, BatchFirst);
        RecurrentChecks.Lengths(_op, lengths, batch, steps);
        var states = NumLayers * Directions;
        var h0 = initialState?.H;
        var c0 = initialState?.C;
        RecurrentChecks.State(_op, "h0", h0, states, batch, HiddenSize, input.DType);
        if (_kind == CellKind.Lstm) RecurrentChecks.State(_op, "c0", c0, states, batch, HiddenSize, input.DType);
        else if (c0 is not null) throw new LoomException($"{_op}: a cell state c0 was given, but only an LSTM has one");
        // One walk over the parameters (the dtype check and the op's list): each walk allocates its iterators.
        var weights = Parameters().ToList();
        foreach (var p in weights)
        {
            if (p.DType != input.DType)
                throw new LoomException($"{_op}: the input is {input.DType.TorchName()} but the parameters are {p.DType.TorchName()}; convert the module with To()");
        }

        var dropout = Training ? Options.Dropout : 0;
        var lengthsCopy = lengths is null ? null : (int[])lengths.Clone();
        var (output, hn, cn) = Implementation == RecurrentImplementation.Fused
            ? RecurrentFused.Forward(Spec, input, weights, h0, c0, lengthsCopy, dropout, Generator)
            : RecurrentComposed.Forward(Spec, input, weights, h0, c0, lengthsCopy, dropout, Generator);
        return new RecurrentOutput(output, new RecurrentState(hn, cn));
    }

    /// <inheritdoc/>
    public CellState InitialState(int batch, DType dtype = DType.Float32)
    {
        RequireSingleLayer();
        var h = Tensor.Zeros(new Shape(batch, HiddenSize), dtype);
        return new CellState(h, _kind == CellKind.Lstm ? Tensor.Zeros(h.Shape, dtype) : null);
    }

    /// <summary>One step of the first layer's cell (composed ops). Only for one layer and one direction.</summary>
    public CellState Step(Tensor x, CellState state)
    {
        RequireSingleLayer();
        RecurrentChecks.StepInput(_op, x, state, InputSize, HiddenSize);
        var (wih, whh, bih, bhh) = (WeightIh(0), WeightHh(0), BiasIh(0), BiasHh(0));
        switch (_kind)
        {
            case CellKind.Lstm:
                var c = state.C ?? throw new LoomException("lstm: a step needs the cell state c");
                var (h, cNext) = Functional.LstmCell(x, state.H, c, wih, whh, bih, bhh);
                return new CellState(h, cNext);
            case CellKind.Gru:
                return new CellState(Functional.GruCell(x, state.H, wih, whh, bih, bhh));
            default:
                return new CellState(Functional.RnnCell(x, state.H, wih, whh, bih, bhh, _kind == CellKind.RnnRelu));
        }
    }

    private void RequireSingleLayer()
    {
        if (NumLayers != 1 || Directions != 1)
            throw new LoomException($"{_op}: stepping one cell needs num_layers = 1 and one direction; this {CellName} has num_layers = {NumLayers}, bidirectional = {Options.Bidirectional}");
    }

    public override string ExtraRepr()
    {
        var parts = new List<string> { InputSize.ToString(), HiddenSize.ToString() };
        if (NumLayers != 1) parts.Add($"num_layers={NumLayers}");
        if (_kind == CellKind.RnnRelu) parts.Add("nonlinearity='relu'");
        if (!Options.Bias) parts.Add("bias=False");
        if (BatchFirst) parts.Add("batch_first=True");
        if (Options.Dropout != 0) parts.Add($"dropout={Options.Dropout}");
        if (Options.Bidirectional) parts.Add("bidirectional=True");
        return string.Join(", ", parts);
    }
}
