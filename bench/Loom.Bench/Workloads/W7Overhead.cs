using Loom.Kernels;

namespace Loom.Bench;

/// <summary>
/// W7: per-op overhead. <c>a + b</c> on one-element float32 tensors (as the reference, without requires_grad), in
/// chunks of 20,000 ops; then <c>mm</c> of two 64×64 matrices in chunks of 5,000 calls. 3 warm-up + 25 timed chunks.
/// The reference's two add rows differ only in how often a TorchSharp DisposeScope is opened; one-element results are
/// not pooled in Loom (the garbage collector frees them), so both rows run the same loop. The reference opens a
/// DisposeScope per 100 <c>mm</c> calls, and so does Loom here with a <see cref="MemoryScope"/>: the 16 KiB outputs
/// go back to the storage pool instead of to the GC (an extra Loom-only row times the calls without a scope). An extra row times the add with autograd
/// recording (inputs that require grad). Before the reference's 3 warm-up chunks each loop runs untimed for
/// <see cref="JitWarmup"/>: .NET compiles hot methods again, optimised, after ~100 ms of calls, and on the loaded machine the
/// first timed chunks otherwise still ran the unoptimised code (median 1.3 M adds/s against 15 M once warm).
/// </summary>
public sealed class W7Overhead : Workload
{
    public override string Id => "W7";

    public override void Run(int threads, Action<Row> add)
    {
        var a = Tensor.Ones(1);
        var b = Tensor.Ones(1);
        const int chunk = 20000;
        Tensor? keep = null;
        void Adds()
        {
            for (var i = 0; i < chunk; i++) keep = a + b;
        }
        JitWarmup(Adds);
        var t1 = Time(3, 25, Adds);
        add(Rate(Id, "add 1-elem, per 1000 ops", threads, "ops/s", chunk, t1, "no DisposeScope in Loom: GC"));
        var t2 = Time(3, 25, Adds);
        add(Rate(Id, "add 1-elem, per op", threads, "ops/s", chunk, t2, "the same loop as above"));

        var ga = Tensor.Ones(1).RequiresGrad_();
        var gb = Tensor.Ones(1).RequiresGrad_();
        void GradAdds()
        {
            for (var i = 0; i < chunk; i++) keep = ga + gb;
        }
        JitWarmup(GradAdds);
        var t3 = Time(3, 25, GradAdds);
        add(Rate(Id, "add 1-elem requires_grad (Loom only)", threads, "ops/s", chunk, t3, "records a tape node per op"));

        var rng = new Generator(5);
        var m1 = Tensor.Randn(new Shape(64, 64), rng);
        var m2 = Tensor.Randn(new Shape(64, 64), rng);
        const int mchunk = 5000;
        void Mms()
        {
            for (var j = 0; j < mchunk; j += 100)
            {
                using var scope = MemoryScope.Begin();
                for (var i = 0; i < 100; i++) Functional.MatMul(m1, m2);
            }
        }
        JitWarmup(Mms);
        var tm = Time(3, 25, Mms);
        add(Rate(Id, "mm 64x64, per 100 calls", threads, "calls/s", mchunk, tm,
            $"{mchunk * 2.0 * 64 * 64 * 64 / Median(tm) / 1e9:F1} GFLOP/s; MemoryScope per 100 calls; Gemm {Gemm.KernelWidth}"));
        void MmsUnscoped()
        {
            for (var i = 0; i < mchunk; i++) keep = Functional.MatMul(m1, m2);
        }
        JitWarmup(MmsUnscoped);
        var tu = Time(3, 25, MmsUnscoped);
        add(Rate(Id, "mm 64x64 without MemoryScope (Loom only)", threads, "calls/s", mchunk, tu,
            $"{mchunk * 2.0 * 64 * 64 * 64 / Median(tu) / 1e9:F1} GFLOP/s; fresh output arrays, freed by the GC"));
        GC.KeepAlive(keep);
    }

    /// <summary>Untimed calls of <paramref name="a"/> for one second (tiered JIT; see the class comment).</summary>
    internal static void JitWarmup(Action a)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 1) a();
    }
}
