namespace Loom.Nn;

/// <summary>
/// Runs an <see cref="IRecurrentCell"/> over a batch of sequences step by step (composed autograd path), with the
/// same contract as the fused layers: padded steps keep the state, output zeros and receive no gradient.
/// </summary>
internal static class StepwiseSequence
{
    public static RecurrentOutput Run(IRecurrentCell cell, string op, Tensor input, bool batchFirst, RecurrentState? initialState, int[]? lengths)
    {
        var (steps, batch) = RecurrentChecks.Input(op, input, cell.InputSize, batchFirst);
        RecurrentChecks.Lengths(op, lengths, batch, steps);
        if (initialState?.C is not null) throw new LoomException($"{op}: a cell state c0 was given, but only an LSTM has one");
        RecurrentChecks.State(op, "h0", initialState?.H, 1, batch, cell.HiddenSize, input.DType);
        var state = cell.InitialState(batch, input.DType);
        if (initialState is not null) state = state with { H = Functional.Select(initialState.H, 0, 0) };
        var timeAxis = batchFirst ? 1 : 0;
        var outputs = new Tensor[steps];
        for (var t = 0; t < steps; t++)
        {
            var next = cell.Step(Functional.Select(input, timeAxis, t), state);
            if (lengths is null)
            {
                outputs[t] = next.H;
                state = next;
                continue;
            }
            var m = RecurrentChecks.StepMask(lengths, t, input.DType);
            outputs[t] = Functional.Mul(m, next.H);
            state = next with { H = RecurrentChecks.Blend(m, next.H, state.H) };
        }
        return new RecurrentOutput(Functional.Stack(outputs, timeAxis), new RecurrentState(Functional.Unsqueeze(state.H, 0)));
    }
}
