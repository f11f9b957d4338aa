using System.Collections;

namespace Loom.Training;

/// <summary>
/// The rows of a <see cref="History"/> in memory, stored by column in fixed-size chunks: a long run adds a row per
/// step for hours, and a <c>List&lt;HistoryRow&gt;</c> would hold an object per row (~80 bytes) behind an array that
/// doubles and copies as it grows (past 10,624 rows onto the large object heap, at the default threshold), leaving each outgrown copy behind until a
/// gen-2 collection. Here a row costs 48 bytes, a chunk is allocated once and never copied or grown, and every array
/// stays far below the large-object threshold. Read as an <see cref="IReadOnlyList{T}"/> of <see cref="HistoryRow"/>:
/// each access builds the row (a short-lived gen-0 object) from its columns.
/// </summary>
internal sealed class HistoryRowStore : IReadOnlyList<HistoryRow>
{
    /// <summary>Rows per chunk: 8 KiB per 8-byte column.</summary>
    internal const int ChunkRows = 1024;

    private readonly List<Chunk> _chunks = [];
    // Split names ("train", "val", …) are few: each row keeps the index of its name in this list.
    private readonly List<string> _splits = [];

    public int Count { get; private set; }

    public HistoryRow this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the history has {Count} rows");
            var chunk = _chunks[index / ChunkRows];
            var i = index % ChunkRows;
            return new HistoryRow(chunk.Step[i], chunk.Epoch[i], _splits[chunk.Split[i]], chunk.Loss[i], chunk.Accuracy[i], chunk.Lr[i], chunk.GradNorm[i]);
        }
    }

    /// <summary>Appends <paramref name="row"/> (its values are copied; the object is not kept).</summary>
    public void Add(HistoryRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var i = Count % ChunkRows;
        if (i == 0) _chunks.Add(new Chunk());
        var chunk = _chunks[^1];
        chunk.Step[i] = row.Step;
        chunk.Epoch[i] = row.Epoch;
        chunk.Split[i] = SplitIndex(row.Split);
        chunk.Loss[i] = row.Loss;
        chunk.Accuracy[i] = row.Accuracy;
        chunk.Lr[i] = row.Lr;
        chunk.GradNorm[i] = row.GradNorm;
        Count++;
    }

    public IEnumerator<HistoryRow> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int SplitIndex(string split)
    {
        // A linear search: a run has two splits (a hand-edited history a few more).
        for (var k = 0; k < _splits.Count; k++)
            if (string.Equals(_splits[k], split, StringComparison.Ordinal)) return k;
        _splits.Add(split);
        return _splits.Count - 1;
    }

    private sealed class Chunk
    {
        public readonly long[] Step = new long[ChunkRows];
        public readonly int[] Epoch = new int[ChunkRows];
        public readonly int[] Split = new int[ChunkRows];
        public readonly double[] Loss = new double[ChunkRows];
        public readonly double[] Accuracy = new double[ChunkRows];
        public readonly double[] Lr = new double[ChunkRows];
        public readonly double[] GradNorm = new double[ChunkRows];
    }
}
