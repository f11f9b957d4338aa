using System.Globalization;
using Loom.Nn;

namespace Loom.Bench;

/// <summary>
/// W6: one Conv2d layer, 64→64 channels, 3×3, padding 1, on x [32, 64, 56, 56] (7.40 GFLOP forward): forward with
/// autograd on (3 warm-up, 20 timed; 10 with one thread), and forward + backward giving ∂x, ∂W, ∂b for a fixed
/// output gradient (2 warm-up, 12 timed; 6 with one thread).
/// </summary>
public sealed class W6Conv : Workload
{
    public override string Id => "W6";

    public override void Run(int threads, Action<Row> add)
    {
        const int n = 32, c = 64, hw = 56, k = 64;
        const double fwdFlops = 2.0 * n * k * hw * hw * c * 9;
        var gen = new Generator(5);
        var conv = new Conv2d(c, k, 3, padding: 1, generator: gen);
        var x = Tensor.Randn(new Shape(n, c, hw, hw), gen).RequiresGrad_();
        var g = Tensor.Randn(new Shape(n, k, hw, hw), gen);
        // Each call in a MemoryScope, as the reference's DisposeScope: the output and gradients are recycled.
        var tf = Time(3, threads == 2 ? 20 : 10, () =>
        {
            using var scope = MemoryScope.Begin();
            conv.Call(x);
        });
        var tfb = Time(2, threads == 2 ? 12 : 6, () =>
        {
            using var scope = MemoryScope.Begin();
            x.Grad = null;
            conv.ZeroGrad();
            conv.Call(x).Backward(g); // dx, dW, db
        });
        add(TimeMs(Id, "conv fwd (autograd on)", threads, tf,
            string.Create(CultureInfo.InvariantCulture, $"{fwdFlops / Median(tf) / 1e9:F1} GFLOP/s")));
        add(TimeMs(Id, "conv fwd+bwd (dx,dW,db)", threads, tfb,
            string.Create(CultureInfo.InvariantCulture, $"{3 * fwdFlops / Median(tfb) / 1e9:F1} GFLOP/s (3x fwd flops)")));
    }

    private static Row TimeMs(string w, string c, int thr, double[] secs, string note) =>
        new(w, c, thr, "ms", Median(secs) * 1e3, secs[0] * 1e3, secs[^1] * 1e3, secs.Length, note);
}
