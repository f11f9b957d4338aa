namespace Loom.Data.Sequences;

/// <summary>
/// The course's binary echo: a long series of fair random bits, the target at every step is the bit
/// <see cref="Delay"/> steps earlier (3 by default). Each of the B rows of a batch is its own series; the series is
/// cut into consecutive chunks of <see cref="ChunkLength"/> steps, one chunk per batch, so the model must carry its
/// (detached) hidden state from one batch to the next — truncated backpropagation through time
/// (<see cref="CarriesState"/>). The first <see cref="Delay"/> targets of a series have nothing to echo and are −100.
/// Each training epoch is a fresh series; the test set is a separate seeded series.
/// Shape: inputs [B, chunk, 1] float32 (the bit); targets [B, chunk] int32 (0 or 1, two classes).
/// </summary>
/// <example><code>
/// var task = new EchoBits(seed: 1);                         // delay 3, chunks of 20, batch 32
/// foreach (var chunk in task.Epoch(0)) { /* carry h across chunks, detached */ }
/// </code></example>
public sealed class EchoBits : ISequenceTask
{
    private const string Op = "echo-bits";

    public EchoBits(ulong seed, int delay = 3, int batchSize = 32, int chunkLength = 20, int chunksPerEpoch = 50, int testChunks = 50)
    {
        SequenceSeeds.CheckPositive(Op, "batch size", batchSize);
        SequenceSeeds.CheckPositive(Op, "chunk length", chunkLength);
        SequenceSeeds.CheckPositive(Op, "chunks per epoch", chunksPerEpoch);
        SequenceSeeds.CheckPositive(Op, "test chunks", testChunks);
        if (delay < 0) throw new LoomException($"{Op}: delay {delay} must not be negative");
        var shortest = Math.Min(chunksPerEpoch, testChunks) * chunkLength;
        if (delay >= shortest) throw new LoomException($"{Op}: delay {delay} must be less than the sequence length {shortest}");
        Seed = seed;
        Delay = delay;
        BatchSize = batchSize;
        ChunkLength = chunkLength;
        BatchesPerEpoch = chunksPerEpoch;
        TestChunks = testChunks;
    }

    public ulong Seed { get; }

    /// <summary>Steps between a bit and its echo.</summary>
    public int Delay { get; }

    public int BatchSize { get; }

    /// <summary>Steps per chunk (per batch).</summary>
    public int ChunkLength { get; }

    /// <summary>Chunks of the training series per epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Chunks of the test series.</summary>
    public int TestChunks { get; }

    public string Name => Op;

    public int InputSize => 1;

    public int NumClasses => 2;

    public TargetKind Targets => TargetKind.PerStep;

    public bool CarriesState => true;

    public IEnumerable<SequenceBatch> Epoch(int epoch, int startBatch = 0)
    {
        SequenceSeeds.CheckEpoch(Op, epoch, startBatch, BatchesPerEpoch);
        var bits = Series(new Generator(SequenceSeeds.Train(Seed, epoch, 0)), BatchesPerEpoch);
        return Chunks(bits, BatchesPerEpoch, startBatch);
    }

    public IReadOnlyList<SequenceBatch> TestBatches() =>
        Chunks(Series(new Generator(SequenceSeeds.Test(Seed, 0)), TestChunks), TestChunks, 0).ToList();

    /// <summary>B series of chunks·L fair bits, row-major.</summary>
    private byte[] Series(Generator g, int chunks)
    {
        var bits = new byte[BatchSize * chunks * ChunkLength];
        for (var i = 0; i < bits.Length; i++) bits[i] = (byte)(g.NextUInt64() >> 63);
        return bits;
    }

    private IEnumerable<SequenceBatch> Chunks(byte[] bits, int chunks, int startBatch)
    {
        var length = chunks * ChunkLength;
        for (var c = startBatch; c < chunks; c++)
        {
            var inputs = new float[BatchSize * ChunkLength];
            var targets = new int[BatchSize * ChunkLength];
            for (var b = 0; b < BatchSize; b++)
            {
                for (var t = 0; t < ChunkLength; t++)
                {
                    var position = c * ChunkLength + t;
                    inputs[b * ChunkLength + t] = bits[b * length + position];
                    targets[b * ChunkLength + t] = position >= Delay ? bits[b * length + position - Delay] : SequenceBatch.IgnoreIndex;
                }
            }
            yield return new SequenceBatch(Tensor.Wrap(inputs, new Shape(BatchSize, ChunkLength, 1)), Tensor.Wrap(targets, new Shape(BatchSize, ChunkLength)));
        }
    }
}
