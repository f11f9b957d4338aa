using System.Diagnostics;
using System.Globalization;
using Loom.Data;
using Loom.Optim;

namespace Loom.Bench;

/// <summary>
/// W4: Fashion-MNIST end to end as the reference does it: load the 70k IDX images (Debian's dataset-fashion-mnist) and
/// normalise with mean 0.2860, std 0.3530; SmallCnn, Adam lr 1e-3, batch 64 (938 steps per epoch, the last of 32),
/// a fresh shuffle per epoch, 2 epochs; after each epoch the test accuracy over the 10k test images in batches of 1000.
/// </summary>
public sealed class W4FashionMnist : Workload
{
    public override string Id => "W4";

    public override IReadOnlyList<int> ThreadCounts => [2];

    public override void Run(int threads, Action<Row> add)
    {
        var swLoad = Stopwatch.StartNew();
        var raw = Datasets.FashionMnist();
        var norm = new Normalization([0.2860f], [0.3530f]);
        var (train, test) = (raw.Train.Normalized(norm), raw.Test.Normalized(norm));
        swLoad.Stop();
        add(new Row(Id, "load+normalize IDX gz (70k images)", threads, "s", swLoad.Elapsed.TotalSeconds, double.NaN, double.NaN, 1));

        var gen = new Generator(7);
        var model = SmallCnnModel.Create(gen);
        model.Train();
        var opt = new Adam(model.Parameters(), new AdamOptions { Lr = 1e-3 });
        var n = train.Count;
        const int bs = 64;
        var perm = new int[n];
        for (var epoch = 1; epoch <= 2; epoch++)
        {
            var sw = Stopwatch.StartNew();
            double lossSum = 0;
            var batches = 0;
            for (var i = 0; i < n; i++) perm[i] = i;
            gen.Shuffle<int>(perm);
            for (var i = 0; i < n; i += bs)
            {
                using var scope = MemoryScope.Begin(); // as the reference's DisposeScope per step
                var (xb, yb) = train.Gather(perm.AsSpan(i, Math.Min(bs, n - i)));
                opt.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Call(xb), yb);
                loss.Backward();
                opt.Step();
                lossSum += loss.Item();
                batches++;
            }
            sw.Stop();
            var swE = Stopwatch.StartNew();
            var acc = Evaluate(model, test);
            swE.Stop();
            add(new Row(Id, $"epoch {epoch} train wall ({batches} steps)", threads, "s/epoch", sw.Elapsed.TotalSeconds, double.NaN, double.NaN, batches,
                string.Create(CultureInfo.InvariantCulture, $"{n / sw.Elapsed.TotalSeconds:F0} img/s; mean train loss {lossSum / batches:F4}")));
            add(new Row(Id, $"epoch {epoch} test accuracy (10k)", threads, "accuracy %", acc * 100, double.NaN, double.NaN, test.Count,
                string.Create(CultureInfo.InvariantCulture, $"eval {swE.Elapsed.TotalSeconds:F2} s")));
        }
    }

    private static double Evaluate(Nn.Module model, ImageDataset test)
    {
        model.Eval();
        long correct = 0;
        using (Autograd.NoGrad())
        {
            var idx = new int[1000];
            for (var i = 0; i < test.Count; i += 1000)
            {
                using var scope = MemoryScope.Begin();
                var len = Math.Min(1000, test.Count - i);
                for (var k = 0; k < len; k++) idx[k] = i + k;
                var (xb, yb) = test.Gather(idx.AsSpan(0, len));
                var pred = Functional.ArgMax(model.Call(xb), 1).AsIntSpan();
                var labels = yb.AsIntSpan();
                for (var k = 0; k < len; k++) correct += pred[k] == labels[k] ? 1 : 0;
            }
        }
        model.Train();
        return (double)correct / test.Count;
    }
}
