using Loom.Training;

namespace Loom.Tests.Training;

public class HistoryRowStoreTests
{
    private static HistoryRow Row(int i) => new(i, 1 + (i / 300), (i % 7) switch { 0 => "val", 3 => "test", _ => "train" },
        i % 11 == 0 ? double.NaN : 2.5 / (i + 1), i % 5 == 0 ? double.NaN : i * 1e-4, 3e-3 * Math.Cos(i), i % 13 == 0 ? double.PositiveInfinity : -i);

    [Fact]
    public void RowsReadBackEqualAcrossChunkBoundaries()
    {
        var store = new HistoryRowStore();
        var expected = Enumerable.Range(0, 2 * HistoryRowStore.ChunkRows + 477).Select(Row).ToList();
        foreach (var row in expected) store.Add(row);
        Assert.Equal(expected.Count, store.Count);
        Assert.Equal(expected, store);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], store[i]);
        Assert.Equal(Row(HistoryRowStore.ChunkRows), store[HistoryRowStore.ChunkRows]);
    }

    [Fact]
    public void AnIndexOutsideTheRowsIsRefused()
    {
        var store = new HistoryRowStore();
        store.Add(Row(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => store[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => store[-1]);
    }

    [Fact]
    public void AddingARowCostsTheSameHoweverLongTheHistory()
    {
        // A growing list doubles and copies its array; the store allocates one chunk per ChunkRows rows, never copying,
        // so every block of ChunkRows rows costs one chunk: 48 bytes a row (a List holds an ~80-byte object per row).
        var store = new HistoryRowStore();
        var rows = Enumerable.Range(0, 20 * HistoryRowStore.ChunkRows).Select(Row).ToArray();
        var perBlock = new long[20];
        for (var b = 0; b < perBlock.Length; b++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = b * HistoryRowStore.ChunkRows; i < (b + 1) * HistoryRowStore.ChunkRows; i++) store.Add(rows[i]);
            perBlock[b] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.All(perBlock.Skip(1), bytes => Assert.InRange(bytes, 48 * HistoryRowStore.ChunkRows, 49 * HistoryRowStore.ChunkRows));
        Assert.Equal(rows, store);
    }

    [Fact]
    public void AnOpenedHistoryKeepsTheFileRowsUpToTheStepAndAppends()
    {
        using var dir = new Data.TempDirectory();
        var path = dir.File("history.csv");
        var written = Enumerable.Range(1, 1500).Select(i => new HistoryRow(i, 1, "train", 1.0 / i, double.NaN, 0.1, i)).ToList();
        File.WriteAllText(path, History.Format(written));
        using (var history = History.Open(path, keepUpToStep: 1200))
        {
            Assert.Equal(written.Take(1200), history.Rows);
            history.Add(new HistoryRow(1201, 2, "val", 0.5, 0.75, 0.1, double.NaN));
            history.Flush();
            Assert.Equal(1201, history.Rows.Count);
            Assert.Equal("val", history.Rows[^1].Split);
        }
        Assert.Equal(History.Format([.. written.Take(1200), new HistoryRow(1201, 2, "val", 0.5, 0.75, 0.1, double.NaN)]), File.ReadAllText(path));
    }
}
