using Loom.Data.Sequences;
using Loom.Diagnostics;
using Loom.Nn;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// The gradient-flow contrast on temporal-order <c>normal</c> (T = 40): first_to_last = ‖∂ℓ/∂h[1]‖ / ‖∂ℓ/∂h[T]‖
/// (ℓ the batch's mean cross-entropy at the last step) is tiny for every fresh model; after training LSTM and GRU
/// carry the gradient back to step 1. The training run is explicit (9 trainings of 100 epochs); CI checks the
/// mechanism on untrained weights: open the gates that carry the state (LSTM forget gate, GRU update gate) and the
/// gradient reaches step 1, while a tanh RNN's vanishes.
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

    /// <summary>
    /// Trains <paramref name="model"/> with the course's recipe (hidden 12, RMSprop lr 1e-3, clip 1, cosine over 100
    /// epochs of 31 batches of 32), as <c>loom train --data temporal-order --level normal --model MODEL --hidden 12
    /// --optimizer rmsprop --lr 0.001 --clip 1 --schedule cosine --epochs 100 --seed S --threads 1</c>.
    /// </summary>
    private (double AtInit, double Trained, double Accuracy) Train(string model, ulong seed)
    {
        var config = SequenceTaskData.Resolve(new TrainConfig
        {
            Data = "temporal-order",
            Level = "normal",
            Model = model,
            Hidden = 12,
            Optimizer = "rmsprop",
            Lr = 1e-3,
            Clip = 1,
            Schedule = "cosine",
            Epochs = 100,
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
    /// The acceptance item, with the one recipe and definition stated in docs/recurrent.md (Gradient flow: the
    /// contrast, measured): LSTM and GRU carry the gradient to step 1 after training (first_to_last ≥ 1e-2) and not at
    /// initialisation (&lt; 1e-6), on every seed. The item's other half, "tanh RNN ≤ 1e-6 after training", is NOT
    /// asserted because it does not hold: with this recipe the tanh RNN solves temporal-order normal on some seeds and
    /// then carries the gradient too (<c>loom gradflow RUN</c>, seeds 1–5: 56, 5e-11, 2.8, 350, 0.37 at test accuracy 0.968,
    /// 0.506, 0.985, 0.723, 0.996; PyTorch's nn.RNN with the same recipe solved seeds 1–5). Its figures
    /// are printed next to the gated models', and its ratio at initialisation is asserted like theirs.
    /// </summary>
    [Fact(Explicit = true)]
    public void AfterTrainingLstmAndGruCarryTheGradientToStepOne()
    {
        output.WriteLine("| model | seed | first_to_last at init | after 3100 RMSprop steps | test accuracy |");
        foreach (var seed in new ulong[] { 1, 2, 3 })
        {
            foreach (var model in new[] { "lstm", "gru" })
            {
                var r = Train(model, seed);
                Assert.True(r.AtInit < 1e-6, $"fresh {model}: first_to_last {r.AtInit:E2}");
                Assert.True(r.Trained >= 1e-2, $"trained {model}: first_to_last {r.Trained:E2}");
            }
            var rnn = Train("rnn", seed);
            Assert.True(rnn.AtInit < 1e-6, $"fresh tanh RNN: first_to_last {rnn.AtInit:E2}");
        }
    }
}
