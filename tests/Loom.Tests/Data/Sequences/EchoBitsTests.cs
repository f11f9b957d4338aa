using Loom.Data.Sequences;

namespace Loom.Tests.Data.Sequences;

public class EchoBitsTests
{
    [Fact]
    public void ChunksContinueOneSeriesAndTargetsAreTheBitThreeStepsEarlier()
    {
        var task = new EchoBits(seed: 1, chunksPerEpoch: 5);
        Assert.True(task.CarriesState);
        var chunks = task.Epoch(0).ToList();
        Assert.Equal(5, chunks.Count);
        Assert.All(chunks, c => Assert.Equal(new Shape(32, 20, 1), c.Inputs.Shape));
        // Stitch the chunks back into each row's series and check the echo across chunk borders.
        var series = new float[32][];
        var targets = new int[32][];
        for (var b = 0; b < 32; b++)
        {
            series[b] = chunks.SelectMany(c => c.Inputs.ToArray().Skip(b * 20).Take(20)).ToArray();
            targets[b] = chunks.SelectMany(c => c.Targets.ToIntArray().Skip(b * 20).Take(20)).ToArray();
            for (var t = 0; t < 100; t++)
                Assert.Equal(t < 3 ? SequenceBatch.IgnoreIndex : (int)series[b][t - 3], targets[b][t]);
        }
        var ones = series.SelectMany(s => s).Average();
        Assert.InRange(ones, 0.45, 0.55);                                      // fair bits
        Assert.NotEqual(series[0], series[1]);
        Assert.Equal(chunks[3].Inputs.ToArray(), task.Epoch(0, startBatch: 3).First().Inputs.ToArray());
        Assert.NotEqual(chunks[0].Inputs.ToArray(), task.Epoch(1).First().Inputs.ToArray());
        Assert.NotEqual(chunks[0].Inputs.ToArray(), task.TestBatches()[0].Inputs.ToArray());
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        Assert.Equal("echo-bits: delay 100 must be less than the sequence length 100",
            Assert.Throws<LoomException>(() => new EchoBits(1, delay: 100, chunksPerEpoch: 5)).Message);
        Assert.Equal("echo-bits: chunk length must be positive, found 0", Assert.Throws<LoomException>(() => new EchoBits(1, chunkLength: 0)).Message);
    }
}
