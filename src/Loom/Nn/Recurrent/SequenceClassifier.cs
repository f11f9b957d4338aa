namespace Loom.Nn;

/// <summary>
/// A recurrent layer with a linear head, as the sequence tasks train it: per sequence, the class is read from the
/// last step's hidden state (logits [B, C]); per step, from every step's (logits [B, T, C]). With
/// <see cref="CarryState"/>, the final state of one batch (detached) is the initial state of the next — truncated
/// backpropagation through time over consecutive chunks of one long series; <see cref="ResetState"/> starts over.
/// Args: recurrent (batch-first), number of classes, per step or not. Keys: <c>rnn.*</c> and <c>head.weight</c>, <c>head.bias</c>.
/// Shape: [B, T, F] → [B, C] or [B, T, C].
/// </summary>
/// <example><code>
/// var model = new SequenceClassifier(new Lstm(new RecurrentOptions(8, 16) { BatchFirst = true }), 4);
/// var logits = model.Forward(batch.Inputs);   // [32, 4], from the last step
/// </code></example>
public sealed class SequenceClassifier : Module, IStatefulModel
{
    private RecurrentState? _state;

    public SequenceClassifier(Module recurrent, int numClasses, bool perStep = false, Generator? generator = null)
    {
        if (recurrent is not IRecurrent rnn)
            throw new LoomException($"sequence classifier: {recurrent.TypeName} is not a recurrent layer");
        if (!rnn.BatchFirst)
            throw new LoomException($"sequence classifier: the recurrent layer must be batch-first (the tasks yield [B, T, F]); {recurrent.TypeName} is not");
        if (numClasses <= 0) throw new LoomException($"sequence classifier: the number of classes must be positive, found {numClasses}");
        Recurrent = RegisterModule("rnn", recurrent);
        var features = recurrent is RecurrentLayer { Options.Bidirectional: true } ? 2 * rnn.HiddenSize : rnn.HiddenSize;
        Head = RegisterModule("head", new Linear(features, numClasses, generator: generator));
        PerStep = perStep;
    }

    /// <summary>The recurrent layer (<c>rnn</c>).</summary>
    public Module Recurrent { get; }

    /// <summary>The linear head (<c>head</c>).</summary>
    public Linear Head { get; }

    /// <summary>One class per step (true) or per sequence (false).</summary>
    public bool PerStep { get; }

    /// <summary>Carry the detached final state from one call to the next (truncated BPTT).</summary>
    public bool CarryState { get; set; }

    /// <summary>Forgets the carried state: the next call starts from zeros.</summary>
    public void ResetState() => _state = null;

    /// <summary>The carried state: <c>h</c> (and <c>c</c> for the LSTM), [L·D, B, H]; empty when none is carried.</summary>
    public IReadOnlyDictionary<string, Tensor> CarriedState()
    {
        var state = new Dictionary<string, Tensor>();
        if (_state is null) return state;
        state["h"] = _state.H;
        if (_state.C is { } c) state["c"] = c;
        return state;
    }

    /// <summary>Carries <paramref name="state"/> (keys <c>h</c> and optionally <c>c</c>) into the next call.</summary>
    public void LoadCarriedState(IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Count == 0)
        {
            _state = null;
            return;
        }
        if (!state.TryGetValue("h", out var h))
            throw new LoomException($"sequence classifier: a carried state needs 'h'; found {string.Join(", ", state.Keys)}");
        var hidden = ((IRecurrent)Recurrent).HiddenSize;
        if (h.Shape.Rank != 3 || h.Shape[2] != hidden)
            throw new LoomException($"sequence classifier: carried state 'h' must be [layers·directions, batch, {hidden}], found {h.Shape}");
        _state = new RecurrentState(h, state.GetValueOrDefault("c"));
    }

    public override Tensor Forward(Tensor input)
    {
        var rnn = (IRecurrent)Recurrent;
        var initial = CarryState && _state is not null && _state.H.Shape[1] == input.Shape[0] && _state.H.DType == input.DType ? _state : null;
        var result = rnn.Forward(input, initial);
        if (CarryState) _state = new RecurrentState(result.H.Detach(), result.C?.Detach());
        var features = PerStep ? result.Output : Functional.Select(result.Output, 1, result.Output.Shape[1] - 1);
        return Head.Forward(features);
    }

    public override string ExtraRepr() => PerStep ? "per_step=True" : "";
}
