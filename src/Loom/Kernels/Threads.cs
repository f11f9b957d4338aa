namespace Loom;

/// <summary>
/// The process-wide thread count for Loom's kernels (default: the number of cores). Work is split into a fixed
/// number of parts that do not depend on scheduling, so the same thread count gives bitwise-identical results.
/// </summary>
public static class Threads
{
    private static int _count = Environment.ProcessorCount;

    /// <summary>Number of threads kernels may use (≥ 1).</summary>
    public static int Count
    {
        get => _count;
        set
        {
            if (value < 1) throw new LoomException($"threads: count must be at least 1, got {value}");
            _count = value;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(part) for part in 0..parts-1, on up to <see cref="Count"/> threads.
    /// Each part must write disjoint memory; with that, the result does not depend on the schedule.
    /// </summary>
    /// <remarks>
    /// The parts run on the GEMM's worker team, not on the thread pool: with Parallel.For, a pooling kernel right after
    /// a product woke a pool thread while the team's worker still spun, three busy threads on two cores, and the
    /// runtime compiled ~130 Parallel/thread-pool methods at tier 1 in the background during a SmallCnn run.
    /// </remarks>
    public static void For(int parts, Action<int> body)
    {
        if (parts <= 0) return;
        if (parts == 1 || _count == 1)
        {
            for (var p = 0; p < parts; p++) body(p);
            return;
        }
        Kernels.GemmTeam.For(parts, body);
    }

    /// <summary>Splits [0, n) into at most <paramref name="maxParts"/> contiguous ranges of at least <paramref name="minChunk"/> items.</summary>
    public static int PartsFor(long n, long minChunk, int maxParts)
    {
        if (n <= 0) return 0;
        var parts = (int)Math.Min(maxParts, Math.Max(1, n / Math.Max(1, minChunk)));
        return Math.Max(1, parts);
    }

    /// <summary>The range [start, end) of part <paramref name="part"/> when n items are split into <paramref name="parts"/> parts.</summary>
    public static (int Start, int End) Range(int n, int parts, int part)
    {
        var start = (int)((long)n * part / parts);
        var end = (int)((long)n * (part + 1) / parts);
        return (start, end);
    }
}
