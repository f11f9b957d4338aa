using Loom.Data.Sequences;
using Loom.Diagnostics;
using Loom.Nn;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// The gradient-flow contrast on temporal-order <c>normal</c> (T = 40, H = 16, batch 64): first_to_last =
/// ‖∂ℓ/∂h[1]‖ / ‖∂ℓ/∂h[T]‖ is tiny for every fresh model; after 300 Adam steps at lr 1e-2 the gated models (LSTM,
/// GRU, the sheet's gated RNN) solve the task and carry the gradient across the gap. The training run is explicit
/// (8 trainings: 9.7 minutes in Debug at load average 75 on the shared 2-core machine); CI checks the mechanism on
/// untrained weights: open the gates that carry the state (LSTM forget gate, GRU update gate) and the gradient
/// reaches step 1, while a tanh RNN's vanishes.
/// </summary>
[Collection(Loom.Tests.Training.ProcessWideRngCollection.Name)]
public sealed class GradientFlowContrastTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "loom-gfcontrast-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static SequenceBatch Probe() => new TemporalOrder(TemporalOrderLevel.Normal, seed: 1, batchSize: 64).TestBatches()[0];

    private static double FirstToLast(Module recurrent, Linear head) =>
        GradientFlow.Measure((IRecurrentCell)recurrent, head, Probe(), new GradientFlowOptions { Jacobians = false }).FirstToLast;

    /// <summary>Sets the bias rows of gate <paramref name="gate"/> (of H rows each) of both bias vectors to <paramref name="value"/>.</summary>
    private static void SetGateBias(Module rnn, int gate, int hidden, double value)
    {
        var state = rnn.StateDict();
        foreach (var key in new[] { "bias_ih_l0", "bias_hh_l0" })
        {
            var b = state[key];
            for (var i = gate * hidden; i < (gate + 1) * hidden; i++) b.SetFlat(i, value / 2);
        }
    }

    [Fact]
    public void OpenCarryGatesPassTheGradientBackToStepOneAndATanhRnnDoesNot()
    {
        const int hidden = 16;
        var head = new Linear(hidden, 4, generator: new Generator(2));
        var rnn = new Rnn(8, hidden, generator: new Generator(1));
        var lstm = new Lstm(8, hidden, new Generator(1));
        var gru = new Gru(8, hidden, new Generator(1));
        var fresh = (Rnn: FirstToLast(rnn, head), Lstm: FirstToLast(lstm, head), Gru: FirstToLast(gru, head));
        output.WriteLine($"fresh: rnn {fresh.Rnn:E2}, lstm {fresh.Lstm:E2}, gru {fresh.Gru:E2}");
        Assert.True(fresh.Rnn < 1e-6 && fresh.Lstm < 1e-6 && fresh.Gru < 1e-6, $"fresh models forget: {fresh}");

        // What training teaches the gated models: LSTM forget gate (gate 1 of i, f, g, o) and GRU update gate
        // (gate 1 of r, z, n) near 1, so c[t] ≈ c[t−1] and h[t] ≈ h[t−1] carry the state and its gradient.
        SetGateBias(lstm, 1, hidden, 12);
        SetGateBias(gru, 1, hidden, 12);
        var open = (Lstm: FirstToLast(lstm, head), Gru: FirstToLast(gru, head));
        output.WriteLine($"gates open: lstm {open.Lstm:E2}, gru {open.Gru:E2}");
        Assert.True(open.Lstm >= 1e-2, $"LSTM with f ≈ 1: first_to_last {open.Lstm:E2}");
        Assert.True(open.Gru >= 1e-2, $"GRU with z ≈ 1: first_to_last {open.Gru:E2}");
    }

    private (double AtInit, double Trained, double Accuracy) Train(string model, ulong seed)
    {
        var config = SequenceTaskData.Resolve(new TrainConfig
        {
            Data = "temporal-order",
            Level = "normal",
            Model = model,
            Hidden = 16,
            BatchSize = 64,
            Optimizer = "adam",
            Lr = 1e-2,
            Schedule = "none",
            Epochs = 10,
            Seed = seed,
            Threads = 1,
        });
        Rng.ManualSeed(config.Seed);
        Threads.Count = config.Threads;
        var data = SequenceTaskData.Create(config);
        var classifier = data.CreateModel(config);
        var atInit = FirstToLast(classifier.Recurrent, classifier.Head);
        var result = new Trainer(classifier, data, config, new RunDirectory(Path.Combine(_root, $"{model}-{seed}"))).Run(TestContext.Current.CancellationToken);
        var trained = FirstToLast(classifier.Recurrent, classifier.Head);
        output.WriteLine($"| {model} | seed {seed} | {atInit:0.0e+00} | {trained:0.0e+00} | {result.TestAccuracy:F3} |");
        return (atInit, trained, result.TestAccuracy);
    }

    /// <summary>
    /// 10 epochs of 31 batches (310 Adam steps at 1e-2, constant), as <c>loom train --data temporal-order --level normal
    /// --hidden 16 --batch-size 64 --lr 0.01 --schedule none --epochs 10</c>. The tanh RNN does not solve the task
    /// (it learns the second symbol at best), but its ratio after training is not asserted: measured 4e-3, 1e-4 and
    /// 3e-2 for seeds 1–3 (PyTorch's own tanh RNN with the same recipe: 2.6 and 4e-19 for two seeds), see docs/recurrent.md.
    /// </summary>
    [Fact(Explicit = true)]
    public void AfterTrainingTheGatedModelsCarryTheGradientAcrossTheGap()
    {
        output.WriteLine("| model | seed | first_to_last at init | after 310 Adam steps | test accuracy |");
        foreach (var seed in new ulong[] { 1, 2 })
        {
            foreach (var model in new[] { "lstm", "gru", "gated-rnn" })
            {
                var r = Train(model, seed);
                Assert.True(r.AtInit < 1e-6, $"fresh {model}: first_to_last {r.AtInit:E2}");
                Assert.True(r.Trained >= 1e-2, $"trained {model}: first_to_last {r.Trained:E2}");
            }
            var rnn = Train("rnn", seed);
            Assert.True(rnn.AtInit < 1e-6, $"fresh tanh RNN: first_to_last {rnn.AtInit:E2}");
            Assert.True(rnn.Accuracy < 0.6, $"tanh RNN: test accuracy {rnn.Accuracy:F3}");
        }
    }
}
