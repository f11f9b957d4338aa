namespace Loom.Data.Sequences;

/// <summary>
/// A batch of sequences. <see cref="Inputs"/> is [B, T, F] float32, batch-first; <see cref="Targets"/> is int32,
/// [B] when each sequence has one class (<see cref="TargetKind.PerSequence"/>) or [B, T] when every step has one
/// (<see cref="TargetKind.PerStep"/>), with <see cref="IgnoreIndex"/> where no prediction is scored;
/// <see cref="Lengths"/> gives each sequence's valid length when they end early (padding after the end), else null.
/// The constructor checks that the three agree (B and T), naming the shapes or the length that does not.
/// </summary>
public sealed record SequenceBatch
{
    /// <summary>The target of a step that is not scored (PyTorch's and <see cref="Functional.CrossEntropy"/>'s ignore_index).</summary>
    public const int IgnoreIndex = -100;

    public SequenceBatch(Tensor inputs, Tensor targets, int[]? lengths = null)
    {
        if (inputs.Shape.Rank != 3)
            throw new LoomException($"sequence batch: inputs must be [B, T, F] (batch-first), found {inputs.Shape}");
        var (count, steps) = (inputs.Shape[0], inputs.Shape[1]);
        var perSequence = targets.Shape.Rank == 1 && targets.Shape[0] == count;
        var perStep = targets.Shape.Rank == 2 && targets.Shape[0] == count && targets.Shape[1] == steps;
        if (!perSequence && !perStep)
            throw new LoomException($"sequence batch: targets must be [{count}] or [{count}, {steps}] for inputs {inputs.Shape}, found {targets.Shape}");
        if (lengths is not null)
        {
            if (lengths.Length != count)
                throw new LoomException($"sequence batch: {lengths.Length} lengths given for a batch of {count} sequences");
            for (var b = 0; b < count; b++)
            {
                if (lengths[b] < 1 || lengths[b] > steps)
                    throw new LoomException($"sequence batch: lengths[{b}] = {lengths[b]} is outside 1..{steps} (the inputs have {steps} steps)");
            }
        }
        Inputs = inputs;
        Targets = targets;
        Lengths = lengths;
    }

    /// <summary>[B, T, F] float32, batch-first.</summary>
    public Tensor Inputs { get; }

    /// <summary>[B] (one class per sequence) or [B, T] (one per step) int32.</summary>
    public Tensor Targets { get; }

    /// <summary>Each sequence's valid length (padding after it), or null when all have T steps.</summary>
    public int[]? Lengths { get; }

    /// <summary>Sequences in the batch (B).</summary>
    public int Count => Inputs.Shape[0];

    /// <summary>Steps per sequence (T).</summary>
    public int Steps => Inputs.Shape[1];
}

/// <summary>Whether a task scores one class per sequence or one per step.</summary>
public enum TargetKind
{
    /// <summary>Targets [B]: the class of the whole sequence, predicted from the last step.</summary>
    PerSequence,

    /// <summary>Targets [B, T]: a class at every step (−100 where not scored).</summary>
    PerStep,
}

/// <summary>A generated sequence task: seeded training epochs and a fixed, separately seeded test set.</summary>
public interface ISequenceTask
{
    /// <summary>The task's name on the command line (<c>temporal-order</c>, <c>echo</c>, <c>echo-bits</c>).</summary>
    string Name { get; }

    /// <summary>Features per step (F).</summary>
    int InputSize { get; }

    /// <summary>Number of classes.</summary>
    int NumClasses { get; }

    /// <summary>One class per sequence or per step.</summary>
    TargetKind Targets { get; }

    /// <summary>
    /// True when consecutive batches of an epoch continue the same sequences (truncated backpropagation through
    /// time): carry the detached hidden state from one batch to the next, and reset it at the start of an epoch.
    /// </summary>
    bool CarriesState { get; }

    /// <summary>Batches per training epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of training epoch <paramref name="epoch"/> (fresh data each epoch, reproducible from the seed),
    /// from batch <paramref name="startBatch"/> on (to resume a run inside an epoch).
    /// </summary>
    IEnumerable<SequenceBatch> Epoch(int epoch, int startBatch = 0);

    /// <summary>The test set, drawn from its own seed: the same on every call.</summary>
    IReadOnlyList<SequenceBatch> TestBatches();
}

/// <summary>Seeds and one-hot encoding shared by the tasks.</summary>
internal static class SequenceSeeds
{
    /// <summary>An independent seed for stream <paramref name="stream"/> of a task seeded with <paramref name="seed"/> (SplitMix64).</summary>
    public static ulong Derive(ulong seed, ulong stream)
    {
        var z = seed + (0x9E3779B97F4A7C15UL * (stream + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The stream of training epoch e, batch i (test streams use the top bit).</summary>
    public static ulong Train(ulong seed, int epoch, int batch) => Derive(seed, ((ulong)(uint)epoch << 20) + (ulong)(uint)batch);

    public static ulong Test(ulong seed, int batch) => Derive(seed, (1UL << 62) + (ulong)(uint)batch);

    public static void CheckEpoch(string op, int epoch, int startBatch, int batchesPerEpoch)
    {
        if (epoch < 0) throw new LoomException($"{op}: epoch {epoch} must not be negative");
        if (startBatch < 0 || startBatch > batchesPerEpoch)
            throw new LoomException($"{op}: start batch {startBatch} is outside 0..{batchesPerEpoch} (batches per epoch)");
    }

    public static void CheckPositive(string op, string name, int value)
    {
        if (value <= 0) throw new LoomException($"{op}: {name} must be positive, found {value}");
    }
}
