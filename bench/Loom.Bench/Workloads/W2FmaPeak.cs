using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Loom.Bench;

/// <summary>
/// W2: the machine's FMA ceiling, as the reference measures it: 12 independent accumulator chains of
/// <c>c = c·a + b</c> per iteration, 40M iterations, on 1 and 2 dedicated threads released by one barrier;
/// 7 timed runs after a warm-up of a tenth. GFLOP/s = iterations · 12 · lanes · 2 · threads / seconds.
/// </summary>
public sealed class W2FmaPeak : Workload
{
    private const int Acc = 12;
    private static volatile float _sink;

    public override string Id => "W2";

    public override IReadOnlyList<int> ThreadCounts => [0];

    public override void Run(int threads, Action<Row> add)
    {
        const long iters = 40_000_000;
        _sink = Fma512(1000) + Fma256(1000);
        foreach (var (name, kernel, lanes, ok) in new (string, Func<long, float>, int, bool)[] {
            ("Vector512 Avx512F.FusedMultiplyAdd", Fma512, 16, Avx512F.IsSupported),
            ("Vector256 Fma.MultiplyAdd", Fma256, 8, Fma.IsSupported) })
        {
            if (!ok)
            {
                Console.WriteLine($"{name}: not supported");
                continue;
            }
            foreach (var thr in new[] { 1, 2 })
            {
                RunOnThreads(thr, kernel, iters / 10);
                var t = new double[7];
                for (var r = 0; r < t.Length; r++) t[r] = RunOnThreads(thr, kernel, iters);
                Array.Sort(t);
                add(Rate(Id, name + " x12 acc", thr, "GFLOP/s", (double)iters * Acc * lanes * 2 * thr / 1e9, t));
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(long iters)
    {
        var a = Vector512.Create(0.9999999f);
        var b = Vector512.Create(1e-7f);
        var c0 = Vector512.Create(0.10f); var c1 = Vector512.Create(0.11f); var c2 = Vector512.Create(0.12f);
        var c3 = Vector512.Create(0.13f); var c4 = Vector512.Create(0.14f); var c5 = Vector512.Create(0.15f);
        var c6 = Vector512.Create(0.16f); var c7 = Vector512.Create(0.17f); var c8 = Vector512.Create(0.18f);
        var c9 = Vector512.Create(0.19f); var c10 = Vector512.Create(0.20f); var c11 = Vector512.Create(0.21f);
        for (long i = 0; i < iters; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, a, b); c1 = Avx512F.FusedMultiplyAdd(c1, a, b);
            c2 = Avx512F.FusedMultiplyAdd(c2, a, b); c3 = Avx512F.FusedMultiplyAdd(c3, a, b);
            c4 = Avx512F.FusedMultiplyAdd(c4, a, b); c5 = Avx512F.FusedMultiplyAdd(c5, a, b);
            c6 = Avx512F.FusedMultiplyAdd(c6, a, b); c7 = Avx512F.FusedMultiplyAdd(c7, a, b);
            c8 = Avx512F.FusedMultiplyAdd(c8, a, b); c9 = Avx512F.FusedMultiplyAdd(c9, a, b);
            c10 = Avx512F.FusedMultiplyAdd(c10, a, b); c11 = Avx512F.FusedMultiplyAdd(c11, a, b);
        }
        var s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
        return Vector512.Sum(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma256(long iters)
    {
        var a = Vector256.Create(0.9999999f);
        var b = Vector256.Create(1e-7f);
        var c0 = Vector256.Create(0.10f); var c1 = Vector256.Create(0.11f); var c2 = Vector256.Create(0.12f);
        var c3 = Vector256.Create(0.13f); var c4 = Vector256.Create(0.14f); var c5 = Vector256.Create(0.15f);
        var c6 = Vector256.Create(0.16f); var c7 = Vector256.Create(0.17f); var c8 = Vector256.Create(0.18f);
        var c9 = Vector256.Create(0.19f); var c10 = Vector256.Create(0.20f); var c11 = Vector256.Create(0.21f);
        for (long i = 0; i < iters; i++)
        {
            c0 = Fma.MultiplyAdd(c0, a, b); c1 = Fma.MultiplyAdd(c1, a, b);
            c2 = Fma.MultiplyAdd(c2, a, b); c3 = Fma.MultiplyAdd(c3, a, b);
            c4 = Fma.MultiplyAdd(c4, a, b); c5 = Fma.MultiplyAdd(c5, a, b);
            c6 = Fma.MultiplyAdd(c6, a, b); c7 = Fma.MultiplyAdd(c7, a, b);
            c8 = Fma.MultiplyAdd(c8, a, b); c9 = Fma.MultiplyAdd(c9, a, b);
            c10 = Fma.MultiplyAdd(c10, a, b); c11 = Fma.MultiplyAdd(c11, a, b);
        }
        var s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
        return Vector256.Sum(s);
    }

    // Runs kernel(iters) on `threads` dedicated threads released together by a barrier; returns wall seconds.
    private static double RunOnThreads(int threads, Func<long, float> kernel, long iters)
    {
        using var go = new Barrier(threads + 1);
        var ts = new Thread[threads];
        var res = new float[threads];
        for (var i = 0; i < threads; i++)
        {
            var k = i;
            ts[i] = new Thread(() =>
            {
                go.SignalAndWait();
                res[k] = kernel(iters);
            });
            ts[i].Start();
        }
        go.SignalAndWait();
        var sw = Stopwatch.StartNew();
        foreach (var t in ts) t.Join();
        sw.Stop();
        _sink = res.Sum();
        return sw.Elapsed.TotalSeconds;
    }
}
