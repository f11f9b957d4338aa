namespace Loom.Nn;

/// <summary>The input checks every recurrent layer makes, with messages that name the value that is wrong.</summary>
internal static class RecurrentChecks
{
    public static void Sizes(string op, int inputSize, int hiddenSize)
    {
        if (inputSize <= 0) throw new LoomException($"{op}: input_size must be positive, found {inputSize}");
        if (hiddenSize <= 0) throw new LoomException($"{op}: hidden_size must be positive, found {hiddenSize}");
    }

    /// <summary>Checks a sequence batch and returns its number of steps and sequences.</summary>
    public static (int Steps, int Batch) Input(string op, Tensor x, int inputSize, bool batchFirst)
    {
        Tensor.RequireFloat(x, op);
        var layout = batchFirst ? "[N, T, " + inputSize + "] (batch_first)" : "[T, N, " + inputSize + "]";
        if (x.Rank != 3)
            throw new LoomException($"{op}: expected an input of rank 3, {layout}, found {x.Shape} (rank {x.Rank})");
        if (x.Shape[2] != inputSize)
            throw new LoomException($"{op}: input {x.Shape} has {x.Shape[2]} features in its last axis, input_size is {inputSize}");
        var steps = x.Shape[batchFirst ? 1 : 0];
        var batch = x.Shape[batchFirst ? 0 : 1];
        if (steps == 0) throw new LoomException($"{op}: input {x.Shape} has no time steps ({layout})");
        if (batch == 0) throw new LoomException($"{op}: input {x.Shape} has no sequences ({layout})");
        return (steps, batch);
    }

    /// <summary>Each sequence's length must be 1 … T and there must be one per sequence.</summary>
    public static void Lengths(string op, int[]? lengths, int batch, int steps)
    {
        if (lengths is null) return;
        if (lengths.Length != batch)
            throw new LoomException($"{op}: {lengths.Length} lengths given for a batch of {batch} sequences");
        for (var b = 0; b < lengths.Length; b++)
        {
            if (lengths[b] < 1 || lengths[b] > steps)
                throw new LoomException($"{op}: lengths[{b}] = {lengths[b]} is outside 1..{steps} (the input has {steps} steps)");
        }
    }

    /// <summary>An initial state must be [L·D, N, H] and of the input's type.</summary>
    public static void State(string op, string name, Tensor? state, int layersTimesDirections, int batch, int hidden, DType dtype)
    {
        if (state is null) return;
        var expected = new Shape(layersTimesDirections, batch, hidden);
        if (state.Shape != expected)
            throw new LoomException($"{op}: {name} has shape {state.Shape}, expected {expected} (num_layers·directions, batch, hidden_size)");
        if (state.DType != dtype)
            throw new LoomException($"{op}: {name} is {state.DType.TorchName()}, the input is {dtype.TorchName()}");
    }

    /// <summary>A step's input must be [N, in].</summary>
    public static void StepInput(string op, Tensor x, CellState state, int inputSize, int hidden)
    {
        Tensor.RequireFloat(x, op);
        if (x.Rank != 2 || x.Shape[1] != inputSize)
            throw new LoomException($"{op}: a step's input must be [N, {inputSize}], found {x.Shape}");
        if (state.H.Shape != new Shape(x.Shape[0], hidden))
            throw new LoomException($"{op}: the state h has shape {state.H.Shape}, expected [{x.Shape[0]}, {hidden}] for an input {x.Shape}");
    }

    /// <summary>The 0/1 mask [N, 1] of the sequences still running at step t.</summary>
    public static Tensor StepMask(int[] lengths, int t, DType dtype)
    {
        var m = Tensor.Zeros(new Shape(lengths.Length, 1), dtype);
        for (var b = 0; b < lengths.Length; b++) m.SetFlat(b, t < lengths[b] ? 1 : 0);
        return m;
    }

    /// <summary>m ⊙ a + (1 − m) ⊙ b: the new value where the sequence runs, the old one where it has ended.</summary>
    public static Tensor Blend(Tensor m, Tensor a, Tensor b) => Functional.Add(Functional.Mul(m, a), Functional.Mul(Functional.RSub(1, m), b));
}
