using System.Diagnostics;

namespace Loom.Kernels;

/// <summary>
/// The threads GEMM runs on: <see cref="Threads.Count"/> − 1 persistent workers plus the calling thread. After a
/// job a worker spins for <see cref="SpinTime"/> before it blocks, as OpenMP's threads do, so back-to-back calls
/// start at once. With <see cref="Threads.For"/> (Parallel.For on the thread pool) the second thread joined a
/// 1024³ product 0.3–3 ms late on the busy 2-core machine, or not at all for 256³ (docs/performance.md).
/// </summary>
/// <remarks>
/// Same contract as <see cref="Threads.For"/>: part p of [0, parts) runs exactly once, on some thread; parts write
/// disjoint memory, so results do not depend on which thread ran which part. A call made while the team is busy
/// (from another thread, or nested) runs its parts inline.
/// </remarks>
internal static class GemmTeam
{
    /// <summary>How long an idle worker spins before it sleeps.</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(0.5);

    private static readonly object Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly long SpinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
    private static int _workers;
    private static int _sleepers;
    private static int _generation;
    private static Job? _job;

    [ThreadStatic]
    private static bool _isWorker;

    /// <summary>True on a thread that is running a part of a team job: a GEMM there runs on that thread alone.</summary>
    public static bool InPart => _isWorker || Monitor.IsEntered(Gate);

    public static void For(int parts, Action<int> body)
    {
        var helpers = Math.Min(Threads.Count, parts) - 1;
        // Inside a part already (a worker, or the caller, which holds the re-entrant Gate): run inline.
        if (helpers <= 0 || InPart || !Monitor.TryEnter(Gate))
        {
            for (var p = 0; p < parts; p++) body(p);
            return;
        }
        try
        {
            while (_workers < helpers) Start(_workers++);
            var job = new Job(body, parts, helpers);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            var sleeping = Volatile.Read(ref _sleepers);
            if (sleeping > 0) Wake.Release(sleeping);
            job.Work();
            var spinner = default(SpinWait);
            while (Volatile.Read(ref job.Remaining) > 0) spinner.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _job, null);
            if (job.Error is { } e) throw new AggregateException(e);
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void Start(int index) =>
        new Thread(() => Loop(index)) { IsBackground = true, Name = $"Loom GEMM worker {index + 1}" }.Start();

    private static void Loop(int index)
    {
        _isWorker = true;
        var seen = Volatile.Read(ref _generation);
        while (true)
        {
            var since = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen)
            {
                if (Stopwatch.GetTimestamp() - since < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _generation) == seen) Wake.Wait(); // a stale wake-up just loops again
                Interlocked.Decrement(ref _sleepers);
                since = Stopwatch.GetTimestamp();
            }
            seen = Volatile.Read(ref _generation);
            if (Volatile.Read(ref _job) is { } job && index < job.Helpers) job.Work();
        }
    }

    /// <summary>One For call: its parts are claimed one at a time by whoever comes first.</summary>
    private sealed class Job(Action<int> body, int parts, int helpers)
    {
        public readonly int Helpers = helpers;
        public readonly int Parts = parts;
        public int Remaining = parts;
        public Exception? Error;
        private readonly Action<int> _body = body;
        private int _next;

        public void Work()
        {
            int p;
            while ((p = Interlocked.Increment(ref _next) - 1) < Parts)
            {
                try
                {
                    _body(p);
                }
                catch (Exception e)
                {
                    Error = e;
                }
                Interlocked.Decrement(ref Remaining);
            }
        }
    }
}
