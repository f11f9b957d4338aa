using Loom.Nn;
using Loom.Optim;

namespace Loom.Bench;

/// <summary>
/// W5: one training step of a recurrent classifier, as the reference defines it: one-hot inputs [T=50, B=32, in=8]
/// (seeded), RNN (tanh) / LSTM / GRU with H = 16 and 128, the last time step's output → Linear(H, 4) → cross-entropy,
/// backward, Adam (lr 1e-3). 10 warm-up steps, then 100 timed (1 thread: 60). For the LSTM H=128 also the forward
/// pass alone under no_grad (10 + 100 calls, sequences/s = B per call). Each case first runs untimed steps for one second,
/// as W7 does, so that the timed steps run the JIT's optimised code (the reference's native kernels need no warm-up).
/// Extra rows (not in the reference): the cost against sequence length and batch size (the scaling table).
/// </summary>
public sealed class W5Recurrent : Workload
{
    private const int T = 50, B = 32, I = 8;

    public override string Id => "W5";

    public override void Run(int threads, Action<Row> add)
    {
        foreach (var kind in new[] { "RNN", "LSTM", "GRU" })
        {
            foreach (var h in new[] { 16, 128 })
            {
                var step = MakeStep(kind, h, T, B, out var forward);
                W7Overhead.JitWarmup(step);
                var t = Time(10, threads == 2 ? 100 : 60, step);
                add(Rate(Id, $"{kind} H={h} train step (T50 B32)", threads, "steps/s", 1, t, $"ms/step {Median(t) * 1e3:F2}; {Gc()}"));
                if (kind == "LSTM" && h == 128)
                {
                    W7Overhead.JitWarmup(forward);
                    var tf = Time(10, 100, forward);
                    add(Rate(Id, "LSTM H=128 forward only no_grad (B32)", threads, "sequences/s", B, tf, $"ms/batch {Median(tf) * 1e3:F2}"));
                }
            }
        }
        if (Environment.GetEnvironmentVariable("LOOM_BENCH_SCALING") != "1") return;
        // Cost against sequence length and batch: ms per step should grow linearly (no cliffs).
        foreach (var kind in new[] { "LSTM", "GRU" })
        {
            foreach (var (steps, batch) in new[] { (25, 32), (100, 32), (50, 16), (50, 64) })
            {
                var step = MakeStep(kind, 128, steps, batch, out _);
                W7Overhead.JitWarmup(step);
                var t = Time(5, 40, step);
                add(Rate(Id, $"{kind} H=128 train step (T{steps} B{batch})", threads, "steps/s", 1, t, $"ms/step {Median(t) * 1e3:F2}"));
            }
        }
    }

    private static string Gc() => $"GC0 {GC.CollectionCount(0)} alloc {GC.GetTotalAllocatedBytes() >> 20} MiB";

    /// <summary>A training step of the model and (through <paramref name="forward"/>) its no_grad forward pass.</summary>
    internal static Action MakeStep(string kind, int hidden, int steps, int batch, out Action forward)
    {
        var g = new Generator(3);
        var xs = new float[steps * batch * I];
        for (var r = 0; r < steps * batch; r++) xs[(r * I) + g.NextInt(I)] = 1f;
        var x = Tensor.FromArray(xs, steps, batch, I);
        var ys = new int[batch];
        for (var b = 0; b < batch; b++) ys[b] = g.NextInt(4);
        var y = Tensor.FromArray(ys, batch);
        RecurrentLayer rnn = kind switch
        {
            "RNN" => new Rnn(I, hidden, RnnNonlinearity.Tanh, g),
            "LSTM" => new Lstm(I, hidden, g),
            _ => new Gru(I, hidden, g),
        };
        var head = new Linear(hidden, 4, generator: g);
        var opt = new Adam(rnn.Parameters().Concat(head.Parameters()), new AdamOptions { Lr = 1e-3 });
        Tensor Logits() => head.Call(Functional.Select(rnn.Call(x), 0, steps - 1));
        forward = () =>
        {
            using var scope = MemoryScope.Begin(); // as the reference's DisposeScope: the call's tensors are recycled
            using var _ = Autograd.NoGrad();
            Logits();
        };
        return () =>
        {
            using var scope = MemoryScope.Begin();
            opt.ZeroGrad();
            Functional.CrossEntropy(Logits(), y).Backward();
            opt.Step();
        };
    }
}
