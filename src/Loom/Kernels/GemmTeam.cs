using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Loom.Kernels;

/// <summary>The parts of one <see cref="GemmTeam"/> job: a reusable object instead of a closure per call.</summary>
internal interface ITeamWork
{
    /// <summary>Runs part <paramref name="part"/>; parts write disjoint memory.</summary>
    void Run(int part);
}

/// <summary>
/// The threads GEMM runs on: <see cref="Threads.Count"/> − 1 persistent workers plus the calling thread. After a
/// job a worker spins for <see cref="SpinTime"/> before it blocks, as OpenMP's threads do, so back-to-back calls
/// start at once. With Parallel.For on the thread pool the second thread joined a 1024³ product 0.3–3 ms late on the
/// busy 2-core machine, or not at all for 256³ (docs/performance.md). <see cref="Threads.For"/> runs on this team too.
/// </summary>
/// <remarks>
/// The contract of <see cref="Threads.For"/>: part p of [0, parts) runs exactly once, on some thread; parts write
/// disjoint memory, so results do not depend on which thread ran which part. A call made while the team is busy
/// (from another thread, or nested) runs its parts inline.
/// <para>
/// A 64³ product takes ~2.5 µs per half, so the hand-off must cost well under a microsecond: a job allocates nothing
/// (its state is a few static fields, its work an <see cref="ITeamWork"/> the caller reuses), an idle worker checks
/// for a job after every PAUSE (~30 ns; <c>Thread.SpinWait(20)</c> between checks took 0.6–0.7 µs here), and the
/// caller waits for the last part the same way.
/// </para>
/// </remarks>
internal static class GemmTeam
{
    /// <summary>How long an idle worker spins before it sleeps.</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(0.5);

    /// <summary>Most parts one job can have (the part counter is 16 bits of <see cref="_state"/>).</summary>
    private const int MaxParts = 0xFFFF;

    /// <summary>PAUSEs between two clock reads of a spinning worker (a read costs about as much as a PAUSE).</summary>
    private const int PausesPerClockRead = 64;

    /// <summary>1 while a job runs: a second caller (another thread) runs its parts inline instead of waiting.</summary>
    private static int _busy;
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly long SpinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
    private static int _workers;
    private static int _sleepers;

    // The job in flight: generation (high 32 bits) | part count (16 bits) | next unclaimed part (low 16 bits). A part
    // is claimed by a compare-exchange of the whole word, so a worker that read an older job's word can never claim a
    // part of a newer job, and the part count it checks is always its own job's.
    private static long _state;
    private static ITeamWork? _work;
    private static int _helpers;
    private static int _remaining;
    private static Exception? _error;

    /// <summary>Set for good on a worker, and on a caller while its job runs. Plain flags rather than a Monitor: with
    /// a Monitor's enter / exit / is-entered (calls into the runtime) per product, libcoreclr took 9 % of the samples of
    /// a two-thread 64³ loop, 5 % without.</summary>
    [ThreadStatic]
    private static bool _inPart;

    /// <summary>True on a thread that is running a part of a team job: a GEMM there runs on that thread alone.</summary>
    public static bool InPart => _inPart;

    /// <summary>Runs body(part) for every part (allocates a small adapter: for code off the hot path).</summary>
    public static void For(int parts, Action<int> body) => For(parts, new Adapter(body));

    /// <summary>Runs work.Run(part) for every part in [0, parts), on the calling thread and the workers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code in the first calls' hand-offs
    public static void For(int parts, ITeamWork work)
    {
        var helpers = Math.Min(Threads.Count, parts) - 1;
        // Inside a part already (a worker, or a caller whose job runs), or the team busy with another thread's job.
        if (helpers <= 0 || parts > MaxParts || _inPart || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (var p = 0; p < parts; p++) work.Run(p);
            return;
        }
        try
        {
            _inPart = true;
            while (_workers < helpers) Start(_workers++);
            _work = work;
            _helpers = helpers;
            _error = null;
            Volatile.Write(ref _remaining, parts);
            var generation = (int)(Volatile.Read(ref _state) >> 32) + 1;
            // Publish (a full fence): a worker that sees this word also sees the fields above.
            Interlocked.Exchange(ref _state, ((long)generation << 32) | ((long)parts << 16));
            var sleeping = Volatile.Read(ref _sleepers);
            if (sleeping > 0) Wake.Release(sleeping);
            Work(generation);
            if (Volatile.Read(ref _remaining) > 0) AwaitParts();
            _work = null;
            if (_error is { } e) throw new AggregateException(e);
        }
        finally
        {
            _inPart = false;
            Volatile.Write(ref _busy, 0);
        }
    }

    // The caller's own parts are done; a worker still runs one. Usually a few hundred nanoseconds: PAUSE, then (if the
    // worker was preempted) back off to yielding the core.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AwaitParts()
    {
        for (var i = 0; i < 4096; i++)
        {
            if (Volatile.Read(ref _remaining) == 0) return;
            Pause();
        }
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _remaining) > 0) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Claims and runs parts of job <paramref name="generation"/> until none is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Work(int generation)
    {
        while (true)
        {
            var s = Volatile.Read(ref _state);
            int next = (int)(s & 0xFFFF), parts = (int)((s >> 16) & 0xFFFF);
            if ((int)(s >> 32) != generation || next >= parts) return;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            // Claimed: until this part is counted down, the caller cannot replace _work.
            try
            {
                _work!.Run(next);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Interlocked.Decrement(ref _remaining);
        }
    }

    private static void Start(int index) =>
        new Thread(() => Loop(index)) { IsBackground = true, Name = $"Loom GEMM worker {index + 1}" }.Start();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop(int index)
    {
        _inPart = true;
        var seen = Generation();
        while (true)
        {
            var since = Stopwatch.GetTimestamp();
            while (Generation() == seen)
            {
                for (var i = 0; i < PausesPerClockRead && Generation() == seen; i++) Pause();
                if (Stopwatch.GetTimestamp() - since < SpinTicks) continue;
                Interlocked.Increment(ref _sleepers);
                if (Generation() == seen) Wake.Wait(); // a stale wake-up just loops again
                Interlocked.Decrement(ref _sleepers);
                since = Stopwatch.GetTimestamp();
            }
            seen = Generation();
            // Helpers beyond this job's count stay out (Threads.Count may have been lowered since they started).
            if (index < Volatile.Read(ref _helpers)) Work(seen);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Generation() => (int)(Volatile.Read(ref _state) >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pause()
    {
        if (X86Base.IsSupported) X86Base.Pause();
        else Thread.SpinWait(1);
    }

    private sealed class Adapter(Action<int> body) : ITeamWork
    {
        public void Run(int part) => body(part);
    }
}
