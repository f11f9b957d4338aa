using System.Globalization;
using Loom.Optim;

namespace Loom.Bench;

/// <summary>
/// W3: one SmallCnn training step (batch 64 of random 1×28×28 images, cross-entropy, SGD lr 0.01 momentum 0.9):
/// 5 warm-up steps then 100 timed (50 with one thread), 50 more to watch the working set; then inference on a batch of
/// 256 under no-grad (3 warm-up, 30 timed; 15 with one thread); then the process's peak working set. The note adds
/// what the reference cannot show: garbage collections and bytes allocated per steady-state step.
/// </summary>
public sealed class W3SmallCnn : Workload
{
    public override string Id => "W3";

    public override void Run(int threads, Action<Row> add)
    {
        var gen = new Generator(1);
        var model = SmallCnnModel.Create(gen);
        model.Train();
        var opt = new Sgd(model.Parameters(), new SgdOptions { Lr = 0.01, Momentum = 0.9 });
        var x = Tensor.Randn(new Shape(64, 1, 28, 28), gen);
        var labels = new int[64];
        for (var i = 0; i < labels.Length; i++) labels[i] = gen.NextInt(10);
        var y = Tensor.Wrap(labels, new Shape(64));
        double lastLoss = 0;
        void Step()
        {
            using var scope = MemoryScope.Begin(); // as the reference's DisposeScope: the step's tensors are recycled
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Call(x), y);
            loss.Backward();
            opt.Step();
            lastLoss = loss.Item();
        }
        var ws0 = SmallCnnModel.WorkingSetMiB();
        var t = Time(5, threads == 2 ? 100 : 50, Step);
        var ws1 = SmallCnnModel.WorkingSetMiB();
        var (gc0, bytes0) = (GC.CollectionCount(0), GC.GetTotalAllocatedBytes(precise: true));
        const int extra = 50;
        for (var i = 0; i < extra; i++) Step(); // more steps: the working set must not grow
        var (gc1, bytes1) = (GC.CollectionCount(0), GC.GetTotalAllocatedBytes(precise: true));
        var ws2 = SmallCnnModel.WorkingSetMiB();
        var perStep = (bytes1 - bytes0) / (double)extra;
        add(Rate(Id, "SmallCnn train step b=64 (SGD m0.9)", threads, "images/s", 64, t,
            string.Create(CultureInfo.InvariantCulture,
                $"ms/step {Median(t) * 1e3:F2}; loss {lastLoss:F3}; WS MiB {ws0}->{ws1}->{ws2}; " +
                $"alloc {perStep / 1024:F1} KiB/step, gen0 GCs {gc1 - gc0} in {extra} steps; pool {StoragePool.PooledBytes >> 20} MiB")));

        model.Eval();
        var xi = Tensor.Randn(new Shape(256, 1, 28, 28), gen);
        var ti = Time(3, threads == 2 ? 30 : 15, () =>
        {
            using var scope = MemoryScope.Begin();
            using var ng = Autograd.NoGrad();
            model.Call(xi);
        });
        add(Rate(Id, "SmallCnn inference b=256 no_grad", threads, "images/s", 256, ti,
            string.Create(CultureInfo.InvariantCulture, $"ms/batch {Median(ti) * 1e3:F2}")));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        add(new Row(Id, "process PeakWorkingSet64 after W3", threads, "MiB", SmallCnnModel.PeakWorkingSetMiB(), double.NaN, double.NaN, 1,
            string.Create(CultureInfo.InvariantCulture, $"current WS {SmallCnnModel.WorkingSetMiB()} MiB")));
    }
}
