using System.Diagnostics;
using System.Globalization;

namespace Loom.Bench;

/// <summary>
/// A benchmark workload of the TorchSharp reference program (../shared/anchors/torchsharp/Program.cs), with the same
/// definition, warm-up and repeat counts. Each (workload, thread count) runs in its own child process.
/// </summary>
public abstract class Workload
{
    /// <summary>"W1", "W2", …</summary>
    public abstract string Id { get; }

    /// <summary>The child processes to start, by thread count (0: the workload runs its own thread counts, as W2).</summary>
    public virtual IReadOnlyList<int> ThreadCounts => [2, 1];

    /// <summary>Runs in the child with <see cref="Threads.Count"/> already set; reports rows through <paramref name="add"/>.</summary>
    public abstract void Run(int threads, Action<Row> add);

    /// <summary>Times <paramref name="reps"/> calls after <paramref name="warmup"/> calls; per-call seconds, sorted.</summary>
    protected static double[] Time(int warmup, int reps, Action a)
    {
        for (var i = 0; i < warmup; i++) a();
        var t = new double[reps];
        var jit = new double[reps];
        var sw = new Stopwatch();
        for (var i = 0; i < reps; i++)
        {
            var j0 = System.Runtime.JitInfo.GetCompilationTime();
            sw.Restart();
            a();
            sw.Stop();
            t[i] = sw.Elapsed.TotalSeconds;
            jit[i] = (System.Runtime.JitInfo.GetCompilationTime() - j0).TotalSeconds;
        }
        // LOOM_BENCH_TRACE=1: every repeat in order, in ms, to stderr (shows how long the JIT's warm-up lasts).
        if (Environment.GetEnvironmentVariable("LOOM_BENCH_TRACE") == "1")
        {
            Console.Error.WriteLine("TRACE " + string.Join(' ', t.Select(x => (x * 1e3).ToString("F1", CultureInfo.InvariantCulture))));
            Console.Error.WriteLine("JIT ms " + string.Join(' ', jit.Select(x => (x * 1e3).ToString("F1", CultureInfo.InvariantCulture))));
        }
        Array.Sort(t);
        return t;
    }

    protected static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);

    /// <summary>rate = work / seconds; the min rate comes from the slowest repeat and vice versa.</summary>
    protected static Row Rate(string w, string c, int thr, string metric, double work, double[] secs, string note = "") =>
        new(w, c, thr, metric, work / Median(secs), work / secs[^1], work / secs[0], secs.Length, note);

    /// <summary>All workloads, in the reference's order.</summary>
    public static IReadOnlyList<Workload> All { get; } =
        [new W1Gemm(), new W2FmaPeak(), new W3SmallCnn(), new W4FashionMnist(), new W5Recurrent(), new W6Conv(), new W7Overhead(),
            new D1DoctorOverhead()];
}
