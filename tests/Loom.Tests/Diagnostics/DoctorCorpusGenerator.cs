using System.Globalization;
using System.Text;
using Loom.Data;
using Loom.Nn.Spec;
using Loom.Tests.Cli;
using Loom.Tests.Data;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// Generates the doctor's labelled corpus (tests/Loom.Tests/Diagnostics/corpus): real, short Loom runs with known
/// faults injected, each run's history.csv kept with its label in labels.csv. Explicit (about ten minutes):
/// <c>dotnet test tests/Loom.Tests -- --explicit only --filter-method '*DoctorCorpusGenerator.Generate'</c>
/// (and <c>GenerateHoldout</c> for the held-out runs).
/// The labels are the fault's expected codes, fixed before looking at the doctor's output (see docs/doctor.md).
/// </summary>
public class DoctorCorpusGenerator
{
    private const string Mlp = "flatten linear(64) relu linear(10)";
    private const string WideMlp = "flatten linear(256) relu linear(10)";

    /// <summary>The corpus the CI test replays: seeds 1–5 of each fault (1–3 of the sequence variants and healthy SGD).</summary>
    [Fact(Explicit = true)]
    public void Generate() => GenerateInto(DoctorCorpus.Folder, 1, 5, 1, 3);

    /// <summary>A held-out corpus generated after the thresholds were fixed: seeds 6–7 (4–5), never used for tuning.</summary>
    [Fact(Explicit = true)]
    public void GenerateHoldout() => GenerateInto(DoctorCorpus.HoldoutFolder, 6, 7, 4, 5);

    private static void GenerateInto(string folder, ulong firstSeed, ulong lastSeed, ulong firstFew, ulong lastFew)
    {
        var corpus = Path.Combine(CliRunner.RepoRoot, folder);
        Directory.CreateDirectory(corpus);
        var digits = Datasets.Digits(Path.Combine(CliRunner.RepoRoot, "data", "digits"));
        var labels = new StringBuilder(DoctorCorpus.LabelsHeader).Append('\n');
        var adam = new TrainConfig { Optimizer = "adam", Lr = 1e-3, Schedule = "none", Epochs = 3, BatchSize = 32, Threads = 1 };
        var sgd = adam with { Optimizer = "sgd", Lr = 0.01, Momentum = 0.9 };
        void Add(string name, string fault, int classes, string expected, string allowed, Action<string> train)
        {
            using var tmp = new TempDirectory();
            train(tmp.Path);
            var history = Path.Combine(tmp.Path, "history.csv");
            Directory.CreateDirectory(Path.Combine(corpus, name));
            File.Copy(history, Path.Combine(corpus, name, "history.csv"), overwrite: true);
            if (fault.Contains(',', StringComparison.Ordinal)) throw new ArgumentException($"fault '{fault}': no commas in labels.csv");
            labels.Append(CultureInfo.InvariantCulture, $"{name},{fault},{classes},{expected},{allowed}\n");
        }
        for (var seed = firstSeed; seed <= lastSeed; seed++)
        {
            var s = seed;
            Add($"healthy-adam-{s}", "none", 10, "healthy", "", dir => Image(digits, dir, s, 2000, Mlp, adam));
            Add($"lr-x0.001-{s}", "lr x0.001", 10, "slow-convergence", "plateau-at-chance", dir => Image(digits, dir, s, 2000, Mlp, adam with { Lr = adam.Lr * 1e-3 }));
            Add($"lr-x100-{s}", "lr x100", 10, "exploding-gradients;loss-spikes", "diverged;plateau-at-chance;oscillating;initial-loss-off", dir => Image(digits, dir, s, 2000, Mlp, sgd with { Lr = sgd.Lr * 100 }));
            Add($"shuffled-labels-{s}", "shuffled labels", 10, "plateau-at-chance", "", dir => Image(digits, dir, s, 2000, Mlp, adam, shuffleLabels: true));
            Add($"logits-x50-{s}", "logits x50 at init", 10, "initial-loss-off", "loss-spikes;exploding-gradients", dir => Image(digits, dir, s, 2000, Mlp, adam, logitScale: 50));
            Add($"tiny-train-{s}", "64 training images / no regularisation", 10, "overfitting", "", dir => Image(digits, dir, s, 64, WideMlp, adam with { Epochs = 40, BatchSize = 16 }));
            Add($"nan-data-{s}", "NaN in one training image", 10, "diverged", "", dir => Image(digits, dir, s, 2000, Mlp, adam, nanAtBatch: 60 + (int)s * 10));
            Add($"seq-noclip-{s}", "temporal-order moderate / LSTM 12 / RMSprop 1e-3 / no clipping", 4, "loss-spikes;exploding-gradients", "plateau-at-chance", dir => Sequence(dir, s, clip: 0));
        }
        for (var seed = firstFew; seed <= lastFew; seed++)
        {
            var s = seed;
            Add($"healthy-sgd-{s}", "none", 10, "healthy", "", dir => Image(digits, dir, s, 2000, Mlp, sgd));
            // Clipping alone does not stop RMSprop's spikes (it rescales each step by a running RMS): spikes stay allowed.
            Add($"seq-clip-{s}", "temporal-order moderate / LSTM 12 / RMSprop 1e-3 / clip 1", 4, "", "plateau-at-chance;exploding-gradients;loss-spikes;healthy", dir => Sequence(dir, s, clip: 1));
            // The doctor's fix, clipping and a decaying schedule: the loss must not spike (the pre-clip grad norms still jump).
            Add($"seq-fix-{s}", "temporal-order moderate / LSTM 12 / RMSprop 1e-3 / clip 1 / cosine schedule", 4, "", "plateau-at-chance;exploding-gradients;healthy", dir => Sequence(dir, s, clip: 1, schedule: "cosine"));
        }
        File.WriteAllText(Path.Combine(corpus, "labels.csv"), labels.ToString());
    }

    private static void Image(ImageSplits digits, string dir, ulong seed, int trainCount, string spec, TrainConfig config,
        bool shuffleLabels = false, double logitScale = 1, int nanAtBatch = -1)
    {
        config = config with { Seed = seed, Data = "digits" };
        Threads.Count = config.Threads;
        Rng.ManualSeed(seed);
        var random = new Random((int)seed);
        var order = Enumerable.Range(0, digits.Train.Count).OrderBy(_ => random.Next()).Take(trainCount).ToArray();
        var train = digits.Train.Subset(order);
        if (shuffleLabels)
        {
            var labels = train.Labels.ToArray().OrderBy(_ => random.Next()).ToArray();
            train = new ImageDataset(train.Name, train.Images.ToArray(), labels, train.Channels, train.Height, train.Width, train.ClassNames);
        }
        var test = digits.Test.Subset(Enumerable.Range(0, 500).ToArray());
        var norm = train.ComputeNormalization();
        var splits = new ImageSplits("digits", "corpus", train, test).Normalized(norm);
        ITrainingData data = new ImageClassificationData(splits, new DataLoaderOptions { BatchSize = config.BatchSize, Shuffle = true, Seed = seed });
        if (nanAtBatch >= 0) data = new NanInjectingData(data, nanAtBatch);
        var model = ModelBuilder.Build(spec, new Shape(1, 28, 28)).Model;
        if (logitScale != 1)
        {
            // The last layer's weight and bias scaled: the logits at initialisation are logitScale times larger.
            foreach (var p in model.NamedParameters().TakeLast(2))
            {
                var values = p.Value.AsSpan();
                for (var i = 0; i < values.Length; i++) values[i] *= (float)logitScale;
            }
        }
        var run = new RunDirectory(dir);
        AtomicFile.WriteAllText(run.Config, (config with { NumClasses = 10, ModelSpec = spec }).ToJson());
        Fit(new Trainer(model, data, config, run));
    }

    private static void Sequence(string dir, ulong seed, double clip, string schedule = "none")
    {
        var config = new TrainConfig
        {
            Data = "temporal-order",
            Level = "moderate",
            Model = "lstm",
            Hidden = 12,
            Optimizer = "rmsprop",
            Lr = 1e-3,
            Schedule = schedule,
            Epochs = 30,
            BatchSize = 32,
            Clip = clip,
            Seed = seed,
            Threads = 1,
        };
        Directory.Delete(dir);
        Fit(TrainingSession.Create(config, dir).CreateTrainer());
    }

    private static void Fit(Trainer trainer)
    {
        try
        {
            trainer.Run(TestContext.Current.CancellationToken);
        }
        catch (TrainingDivergedException)
        {
            // The fault did its job: the history ends at the divergence.
        }
    }

    /// <summary>Puts a NaN into one pixel of the training batch with global index <c>atBatch</c>.</summary>
    private sealed class NanInjectingData(ITrainingData inner, int atBatch) : ITrainingData
    {
        public string Name => inner.Name;

        public int NumClasses => inner.NumClasses;

        public int BatchesPerEpoch => inner.BatchesPerEpoch;

        public int TestCount => inner.TestCount;

        public IEnumerable<TrainBatch> TestBatches() => inner.TestBatches();

        public IEnumerable<TrainBatch> TrainEpoch(int epoch, int startBatch = 0)
        {
            var index = epoch * inner.BatchesPerEpoch + startBatch;
            foreach (var batch in inner.TrainEpoch(epoch, startBatch))
            {
                if (index++ != atBatch)
                {
                    yield return batch;
                    continue;
                }
                var pixels = batch.Inputs.ToArray();
                pixels[pixels.Length / 2] = float.NaN;
                yield return batch with { Inputs = Tensor.FromArray(pixels, batch.Inputs.Shape.ToArray()) };
            }
        }
    }
}
