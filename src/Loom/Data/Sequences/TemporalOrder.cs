namespace Loom.Data.Sequences;

/// <summary>The difficulty levels of <see cref="TemporalOrder"/>.</summary>
public enum TemporalOrderLevel
{
    Easy,
    Normal,
    Moderate,
    Hard,
    Nightmare,
}

/// <summary>
/// A level's ranges (inclusive): the sequence length, and the positions t1 &lt; t2 of the two relevant symbols
/// (0-based, B at position 0, E at position length − 1).
/// </summary>
public sealed record TemporalOrderRanges(int MinLength, int MaxLength, int MinT1, int MaxT1, int MinT2, int MaxT2);

/// <summary>
/// The temporal-order task of Hochreiter &amp; Schmidhuber (1997), experiment 6a. Eight one-hot symbols
/// X, Y, a, b, c, d, B, E (in that order, F = 8). A sequence starts with B, ends with E, and is filled with random
/// a, b, c, d, except at two random positions t1 &lt; t2 holding X or Y. The class is the order of those two:
/// Q = XX, R = XY, S = YX, U = YY (0 … 3). Everything between is distraction: the network must remember two symbols
/// across a long gap.
/// Levels (length; t1; t2, inclusive): easy 7–8; 1–2; 4–5 · normal 30–40; 2–5; 20–27 · moderate 60–80; 10–20; 45–54 ·
/// hard 100–110; 10–20; 50–60 · nightmare 300–500; 10–80; 250–290.
/// Batches are zero-padded at the FRONT to the level's maximum length (padding steps are all-zero vectors the model
/// reads; no lengths are given), so the last step of every row is E. An epoch is 31 batches of 32 fresh sequences
/// (seeded by seed, epoch and batch); the test set is a separate seeded draw of the same size.
/// Shape: inputs [B, maxLength, 8] float32; targets [B] int32.
/// </summary>
/// <example><code>
/// var task = new TemporalOrder(TemporalOrderLevel.Normal, seed: 1);
/// foreach (var batch in task.Epoch(0)) { /* batch.Inputs [32, 40, 8], batch.Targets [32] */ }
/// </code></example>
public sealed class TemporalOrder : ISequenceTask
{
    private const string Op = "temporal-order";

    /// <summary>The symbols in one-hot order.</summary>
    public static IReadOnlyList<char> Symbols { get; } = ['X', 'Y', 'a', 'b', 'c', 'd', 'B', 'E'];

    /// <summary>The class names in label order: Q = XX, R = XY, S = YX, U = YY.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["Q", "R", "S", "U"];

    /// <summary>The level names the command line accepts.</summary>
    public static IReadOnlyList<string> LevelNames { get; } = ["easy", "normal", "moderate", "hard", "nightmare"];

    public TemporalOrder(TemporalOrderLevel level, ulong seed, int batchSize = 32, int batchesPerEpoch = 31)
    {
        if (!Enum.IsDefined(level)) throw new LoomException($"{Op}: unknown level {(int)level}; known: {string.Join(", ", LevelNames)}");
        SequenceSeeds.CheckPositive(Op, "batch size", batchSize);
        SequenceSeeds.CheckPositive(Op, "batches per epoch", batchesPerEpoch);
        Level = level;
        Seed = seed;
        BatchSize = batchSize;
        BatchesPerEpoch = batchesPerEpoch;
        Ranges = RangesOf(level);
    }

    /// <summary>A task by level name (<see cref="LevelNames"/>); an unknown name is an error listing the known ones.</summary>
    public TemporalOrder(string level, ulong seed, int batchSize = 32, int batchesPerEpoch = 31)
        : this(ParseLevel(level), seed, batchSize, batchesPerEpoch)
    {
    }

    public TemporalOrderLevel Level { get; }

    public ulong Seed { get; }

    public int BatchSize { get; }

    public int BatchesPerEpoch { get; }

    /// <summary>The level's length and position ranges.</summary>
    public TemporalOrderRanges Ranges { get; }

    /// <summary>Steps per batch: the level's maximum length.</summary>
    public int Steps => Ranges.MaxLength;

    public string Name => Op;

    public int InputSize => Symbols.Count;

    public int NumClasses => ClassNames.Count;

    public TargetKind Targets => TargetKind.PerSequence;

    public bool CarriesState => false;

    /// <summary>Parses a level name, case-insensitively.</summary>
    public static TemporalOrderLevel ParseLevel(string name)
    {
        for (var i = 0; i < LevelNames.Count; i++)
            if (string.Equals(LevelNames[i], name, StringComparison.OrdinalIgnoreCase)) return (TemporalOrderLevel)i;
        throw new LoomException($"{Op}: unknown level '{name}'; known: {string.Join(", ", LevelNames)}");
    }

    /// <summary>The ranges of a level (the issue's table).</summary>
    public static TemporalOrderRanges RangesOf(TemporalOrderLevel level) => level switch
    {
        TemporalOrderLevel.Easy => new(7, 8, 1, 2, 4, 5),
        TemporalOrderLevel.Normal => new(30, 40, 2, 5, 20, 27),
        TemporalOrderLevel.Moderate => new(60, 80, 10, 20, 45, 54),
        TemporalOrderLevel.Hard => new(100, 110, 10, 20, 50, 60),
        TemporalOrderLevel.Nightmare => new(300, 500, 10, 80, 250, 290),
        _ => throw new LoomException($"{Op}: unknown level {(int)level}; known: {string.Join(", ", LevelNames)}"),
    };

    /// <summary>One sequence as text (e.g. <c>BbXcadYdE</c>) and its class.</summary>
    public static (string Text, int Label) DrawSequence(TemporalOrderRanges ranges, Generator g)
    {
        var length = g.NextInt(ranges.MinLength, ranges.MaxLength + 1);
        var t1 = g.NextInt(ranges.MinT1, ranges.MaxT1 + 1);
        var t2 = g.NextInt(ranges.MinT2, ranges.MaxT2 + 1);
        var text = new char[length];
        text[0] = 'B';
        text[length - 1] = 'E';
        for (var i = 1; i < length - 1; i++) text[i] = (char)('a' + g.NextInt(4));
        var first = g.NextInt(2);
        var second = g.NextInt(2);
        text[t1] = first == 0 ? 'X' : 'Y';
        text[t2] = second == 0 ? 'X' : 'Y';
        return (new string(text), 2 * first + second);
    }

    /// <summary>A batch of <paramref name="count"/> sequences, front-padded to the level's maximum length.</summary>
    public SequenceBatch DrawBatch(Generator g, int count)
    {
        var steps = Steps;
        var inputs = new float[count * steps * Symbols.Count];
        var labels = new int[count];
        for (var b = 0; b < count; b++)
        {
            var (text, label) = DrawSequence(Ranges, g);
            labels[b] = label;
            var offset = steps - text.Length;
            for (var i = 0; i < text.Length; i++)
                inputs[(b * steps + offset + i) * Symbols.Count + IndexOf(text[i])] = 1;
        }
        return new SequenceBatch(Tensor.Wrap(inputs, new Shape(count, steps, Symbols.Count)), Tensor.Wrap(labels, new Shape(count)));
    }

    public IEnumerable<SequenceBatch> Epoch(int epoch, int startBatch = 0)
    {
        SequenceSeeds.CheckEpoch(Op, epoch, startBatch, BatchesPerEpoch);
        return Batches(epoch, startBatch);
    }

    private IEnumerable<SequenceBatch> Batches(int epoch, int startBatch)
    {
        for (var i = startBatch; i < BatchesPerEpoch; i++) yield return DrawBatch(new Generator(SequenceSeeds.Train(Seed, epoch, i)), BatchSize);
    }

    /// <summary>The test set: <see cref="BatchesPerEpoch"/> batches of <see cref="BatchSize"/>, from the test seed.</summary>
    public IReadOnlyList<SequenceBatch> TestBatches()
    {
        var batches = new SequenceBatch[BatchesPerEpoch];
        for (var i = 0; i < batches.Length; i++) batches[i] = DrawBatch(new Generator(SequenceSeeds.Test(Seed, i)), BatchSize);
        return batches;
    }

    private static int IndexOf(char symbol)
    {
        for (var i = 0; i < Symbols.Count; i++) if (Symbols[i] == symbol) return i;
        throw new InvalidOperationException($"temporal-order: no symbol '{symbol}'");
    }
}
