namespace Loom.Data.Sequences;

/// <summary>
/// The course's character echo: the input is a string of uniformly random lowercase letters, the target is the same
/// string delayed by d steps, with blanks in front. 27 classes: 0 = blank, 1 … 26 = a … z; inputs are one-hot over the
/// same 27 indices (index 0 never occurs in an input).
/// Training strings have length 15 (fixed delay) — every target is scored, the leading blanks included.
/// Test protocol: 500 random strings of length 15 … 25, end-padded per batch (with <see cref="SequenceBatch.Lengths"/>);
/// accuracy = the fraction of correctly echoed characters over positions t ≥ d (the other targets are −100).
/// Variable delay (<see cref="WithMaxDelay"/>): each sequence draws its own delay 0 … M, given to the model as a
/// one-hot of M + 1 extra features at every step; training and test strings have length 20.
/// An epoch is 32 batches of 32 fresh strings (seeded by seed, epoch and batch); the test set has its own seed.
/// Shape: inputs [B, T, 27] (or [B, T, 27 + M + 1]) float32; targets [B, T] int32.
/// </summary>
/// <example><code>
/// var task = new Echo(delay: 4, seed: 1);            // input "hello…" → target "····hello…"
/// var test = task.TestBatches();                     // 500 strings of length 15–25
/// </code></example>
public sealed class Echo : ISequenceTask
{
    private const string Op = "echo";

    /// <summary>Classes: blank and the 26 letters.</summary>
    public const int Letters = 27;

    /// <summary>Length of the training strings with a fixed delay.</summary>
    public const int TrainLength = 15;

    /// <summary>Length of all strings with a variable delay.</summary>
    public const int VariableDelayLength = 20;

    /// <summary>Test strings with a fixed delay have lengths TestMinLength … TestMaxLength.</summary>
    public const int TestMinLength = 15;

    public const int TestMaxLength = 25;

    /// <summary>Strings in the test set.</summary>
    public const int TestCount = 500;

    /// <summary>A fixed delay of <paramref name="delay"/> steps (0 ≤ delay &lt; 15).</summary>
    public Echo(int delay, ulong seed, int batchSize = 32, int batchesPerEpoch = 32)
        : this(delay, null, seed, batchSize, batchesPerEpoch)
    {
    }

    private Echo(int? delay, int? maxDelay, ulong seed, int batchSize, int batchesPerEpoch)
    {
        SequenceSeeds.CheckPositive(Op, "batch size", batchSize);
        SequenceSeeds.CheckPositive(Op, "batches per epoch", batchesPerEpoch);
        if (delay is { } d)
        {
            if (d < 0) throw new LoomException($"{Op}: delay {d} must not be negative");
            if (d >= TrainLength) throw new LoomException($"{Op}: delay {d} must be less than the sequence length {TrainLength}");
        }
        if (maxDelay is { } m)
        {
            if (m < 0) throw new LoomException($"{Op}: max delay {m} must not be negative");
            if (m >= VariableDelayLength) throw new LoomException($"{Op}: max delay {m} must be less than the sequence length {VariableDelayLength}");
        }
        Delay = delay;
        MaxDelay = maxDelay;
        Seed = seed;
        BatchSize = batchSize;
        BatchesPerEpoch = batchesPerEpoch;
    }

    /// <summary>A delay drawn per sequence from 0 … <paramref name="maxDelay"/> (&lt; 20) and given as an input.</summary>
    public static Echo WithMaxDelay(int maxDelay, ulong seed, int batchSize = 32, int batchesPerEpoch = 32) =>
        new(null, maxDelay, seed, batchSize, batchesPerEpoch);

    /// <summary>The fixed delay, or null with a variable delay.</summary>
    public int? Delay { get; }

    /// <summary>The largest delay of the variable-delay variant, or null.</summary>
    public int? MaxDelay { get; }

    public ulong Seed { get; }

    public int BatchSize { get; }

    public int BatchesPerEpoch { get; }

    public string Name => Op;

    public int InputSize => Letters + (MaxDelay is { } m ? m + 1 : 0);

    public int NumClasses => Letters;

    public TargetKind Targets => TargetKind.PerStep;

    public bool CarriesState => false;

    /// <summary>Length of the training strings (15, or 20 with a variable delay).</summary>
    public int TrainingLength => MaxDelay is null ? TrainLength : VariableDelayLength;

    public IEnumerable<SequenceBatch> Epoch(int epoch, int startBatch = 0)
    {
        SequenceSeeds.CheckEpoch(Op, epoch, startBatch, BatchesPerEpoch);
        return Batches(epoch, startBatch);
    }

    private IEnumerable<SequenceBatch> Batches(int epoch, int startBatch)
    {
        for (var i = startBatch; i < BatchesPerEpoch; i++)
        {
            var g = new Generator(SequenceSeeds.Train(Seed, epoch, i));
            var lengths = new int[BatchSize];
            Array.Fill(lengths, TrainingLength);
            yield return Draw(g, lengths, scoreLeadingBlanks: true, withLengths: false);
        }
    }

    /// <summary>500 strings in batches of <see cref="BatchSize"/>, scored from position d on.</summary>
    public IReadOnlyList<SequenceBatch> TestBatches()
    {
        var g = new Generator(SequenceSeeds.Test(Seed, 0));
        var all = new int[TestCount];
        for (var i = 0; i < all.Length; i++) all[i] = MaxDelay is null ? g.NextInt(TestMinLength, TestMaxLength + 1) : VariableDelayLength;
        var batches = new List<SequenceBatch>();
        for (var start = 0; start < TestCount; start += BatchSize)
        {
            var lengths = all.AsSpan(start, Math.Min(BatchSize, TestCount - start)).ToArray();
            batches.Add(Draw(g, lengths, scoreLeadingBlanks: false, withLengths: MaxDelay is null));
        }
        return batches;
    }

    /// <summary>Random strings of the given lengths, end-padded to the longest; targets delayed (and padding ignored).</summary>
    private SequenceBatch Draw(Generator g, int[] lengths, bool scoreLeadingBlanks, bool withLengths)
    {
        var count = lengths.Length;
        var steps = 0;
        foreach (var l in lengths) steps = Math.Max(steps, l);
        var features = InputSize;
        var inputs = new float[count * steps * features];
        var targets = new int[count * steps];
        Array.Fill(targets, SequenceBatch.IgnoreIndex);
        var letters = new int[steps];
        for (var b = 0; b < count; b++)
        {
            var delay = Delay ?? g.NextInt(MaxDelay!.Value + 1);
            for (var t = 0; t < lengths[b]; t++)
            {
                letters[t] = 1 + g.NextInt(26);
                var row = (b * steps + t) * features;
                inputs[row + letters[t]] = 1;
                if (MaxDelay is not null) inputs[row + Letters + delay] = 1;
                if (t >= delay) targets[b * steps + t] = letters[t - delay];
                else if (scoreLeadingBlanks) targets[b * steps + t] = 0;
            }
        }
        return new SequenceBatch(Tensor.Wrap(inputs, new Shape(count, steps, features)), Tensor.Wrap(targets, new Shape(count, steps)),
            withLengths ? lengths : null);
    }

    /// <summary>Text of a one-hot row sequence (letters, or '·' for blank): for examples and messages.</summary>
    public static string Decode(ReadOnlySpan<int> classes)
    {
        var chars = new char[classes.Length];
        for (var i = 0; i < chars.Length; i++) chars[i] = classes[i] <= 0 ? '·' : (char)('a' + classes[i] - 1);
        return new string(chars);
    }
}
