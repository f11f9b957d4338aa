using Loom.Data;

namespace Loom.Tests.Data;

public class DataLoaderTests
{
    private static ImageDataset Small(int n = 10)
    {
        // Image i is filled with i; its label is i % 3.
        var images = new float[n * 2 * 3 * 2];
        for (var i = 0; i < n; i++) images.AsSpan(i * 12, 12).Fill(i);
        return new ImageDataset("small", images, [.. Enumerable.Range(0, n).Select(i => i % 3)], 2, 3, 2, ["a", "b", "c"]);
    }

    private static List<(float[] Images, int[] Labels, int Epoch, int Index)> Snapshot(IEnumerable<Batch> batches) =>
        [.. batches.Select(b => (b.Images.ToArray(), b.Labels.ToIntArray(), b.Epoch, b.Index))];

    private static void AssertSame(List<(float[] Images, int[] Labels, int Epoch, int Index)> a, List<(float[] Images, int[] Labels, int Epoch, int Index)> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Images, b[i].Images);
            Assert.Equal(a[i].Labels, b[i].Labels);
            Assert.Equal((a[i].Epoch, a[i].Index), (b[i].Epoch, b[i].Index));
        }
    }

    [Fact]
    public void BatchesHaveTheRightShapesAndCoverEveryImageOnce()
    {
        var loader = new DataLoader(Small(), new DataLoaderOptions { BatchSize = 4, Seed = 7 });
        var batches = loader.Epoch(0).ToList();
        Assert.Equal(3, loader.BatchesPerEpoch);
        Assert.Equal([4, 4, 2], batches.Select(b => b.Size));
        Assert.Equal(new Shape(4, 2, 3, 2), batches[0].Images.Shape);
        Assert.Equal(DType.Int32, batches[0].Labels.DType);
        var seen = batches.SelectMany(b => Enumerable.Range(0, b.Size).Select(i => (int)b.Images[i, 0, 0, 0])).ToList();
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        Assert.Equal(loader.Order(0), seen);
        // Labels travel with their images.
        foreach (var b in batches)
        {
            for (var i = 0; i < b.Size; i++) Assert.Equal((int)b.Images[i, 1, 2, 1] % 3, (int)b.Labels[i]);
        }
    }

    [Fact]
    public void DropLast()
    {
        var loader = new DataLoader(Small(), new DataLoaderOptions { BatchSize = 4, DropLast = true });
        Assert.Equal(2, loader.BatchesPerEpoch);
        Assert.Equal([4, 4], loader.Epoch(0).Select(b => b.Size));
        var none = new DataLoader(Small(3), new DataLoaderOptions { BatchSize = 4, DropLast = true });
        Assert.Empty(none.Epoch(0));
        var exact = new DataLoader(Small(8), new DataLoaderOptions { BatchSize = 4, DropLast = false });
        Assert.Equal([4, 4], exact.Epoch(0).Select(b => b.Size));
    }

    [Fact]
    public void SameSeedSameBatchesDifferentSeedDifferentBatches()
    {
        var data = DatasetsTests.Digits.Train;
        var a = Snapshot(new DataLoader(data, new DataLoaderOptions { BatchSize = 100, Seed = 1 }).Epoch(0).Take(5));
        var b = Snapshot(new DataLoader(data, new DataLoaderOptions { BatchSize = 100, Seed = 1 }).Epoch(0).Take(5));
        var c = Snapshot(new DataLoader(data, new DataLoaderOptions { BatchSize = 100, Seed = 2 }).Epoch(0).Take(5));
        AssertSame(a, b);
        Assert.NotEqual(a[0].Labels, c[0].Labels);
        var loader = new DataLoader(data, new DataLoaderOptions { Seed = 1 });
        Assert.NotEqual(loader.Order(0), loader.Order(1));
        Assert.NotEqual(loader.EpochSeed(0), loader.EpochSeed(1));
    }

    [Fact]
    public void PrefetchChangesNothing()
    {
        var data = DatasetsTests.Digits.Test;
        var norm = DatasetsTests.Digits.Train.ComputeNormalization();
        var options = new DataLoaderOptions { BatchSize = 64, Seed = 3, Normalize = norm };
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var on = Snapshot(new DataLoader(data, options with { Prefetch = true }).Epoch(epoch));
            var off = Snapshot(new DataLoader(data, options with { Prefetch = false }).Epoch(epoch));
            AssertSame(on, off);
            Assert.Equal(32, on.Count);
        }
    }

    [Fact]
    public void ResumingInsideAnEpochGivesTheRemainingBatches()
    {
        var loader = new DataLoader(Small(50), new DataLoaderOptions { BatchSize = 8, Seed = 11 });
        var full = Snapshot(loader.Epoch(2));
        var resumed = Snapshot(new DataLoader(Small(50), loader.Options).Epoch(2, startBatch: 4));
        AssertSame(full[4..], resumed);
        Assert.Empty(loader.Epoch(2, startBatch: loader.BatchesPerEpoch));
        Assert.Throws<LoomException>(() => loader.Epoch(2, startBatch: 99));
    }

    [Fact]
    public void EpochOrderIsAPureFunctionOfSeedAndEpoch()
    {
        var loader = new DataLoader(Small(20), new DataLoaderOptions { Seed = 5 });
        Assert.Equal(new Generator(loader.EpochSeed(3)).Permutation(20), loader.Order(3));
        var unshuffled = new DataLoader(Small(20), new DataLoaderOptions { Shuffle = false });
        Assert.Equal(Enumerable.Range(0, 20), unshuffled.Order(3));
    }

    [Fact]
    public void StoppingEarlyWaitsForThePrefetch()
    {
        var loader = new DataLoader(DatasetsTests.Digits.Train, new DataLoaderOptions { BatchSize = 32 });
        for (var i = 0; i < 20; i++) Assert.Single(loader.Epoch(i).Take(1));
    }

    [Fact]
    public void NormalizeOptionMatchesANormalisedDataset()
    {
        var d = DatasetsTests.Digits;
        var norm = d.Train.ComputeNormalization();
        var options = new DataLoaderOptions { BatchSize = 50, Seed = 9, Prefetch = false };
        var onTheFly = Snapshot(new DataLoader(d.Test, options with { Normalize = norm }).Epoch(0).Take(3));
        var eager = Snapshot(new DataLoader(d.Test.Normalized(norm), options).Epoch(0).Take(3));
        AssertSame(onTheFly, eager);
        var e = Assert.Throws<LoomException>(() => new DataLoader(d.Test.Normalized(norm), options with { Normalize = norm }));
        Assert.Contains("already normalised", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptions()
    {
        Assert.Throws<LoomException>(() => new DataLoader(Small(), new DataLoaderOptions { BatchSize = 0 }));
        Assert.Throws<LoomException>(() => new DataLoader(Small(), new DataLoaderOptions { Normalize = new Normalization([0f], [1f]) }));
        Assert.Throws<LoomException>(() => new DataLoader(Small()).Order(-1));
    }

    [Fact]
    public void AllocatesOnlyTheBatchTensors()
    {
        // Without prefetch, everything runs on this thread and is counted exactly.
        var data = DatasetsTests.Digits.Train;
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 64, Prefetch = false });
        var batchBytes = (64 * 784 * sizeof(float)) + (64 * sizeof(int));
        foreach (var _ in loader.Epoch(0)) { }   // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var count = 0;
        foreach (var b in loader.Epoch(1)) count++;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var order = data.Count * sizeof(int);
        // Per batch: the two arrays plus two tensor objects, two shapes and the batch record (a few hundred bytes).
        Assert.True(allocated < order + (count * (batchBytes + 512)) + 4096, $"{allocated} bytes for {count} batches");
    }
}
