using Loom.Data;
using Loom.Nn.Spec;
using Loom.Training;

namespace Loom.Tests.Training;

[Collection(ProcessWideRngCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "loom-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static ImageSplits Blobs(int trainCount = 256, int testCount = 64) => BlobImages.Splits(trainCount, testCount);

    private (Trainer Trainer, RunDirectory Run, Loom.Nn.Module Model) Setup(string name, TrainConfig config)
    {
        Rng.ManualSeed(config.Seed);
        Threads.Count = config.Threads;
        var data = new ImageClassificationData(Blobs(), new DataLoaderOptions { BatchSize = config.BatchSize, Seed = config.Seed, Prefetch = true });
        var model = ModelBuilder.Build("flatten linear(8) relu dropout(0.2) linear(2)", new Shape(1, 4, 4)).Model;
        var run = new RunDirectory(Path.Combine(_root, name));
        return (new Trainer(model, data, config, run), run, model);
    }

    private static TrainConfig Config => new() { Epochs = 3, BatchSize = 32, Lr = 0.05, Optimizer = "sgd", Schedule = "cosine", Seed = 7, Threads = 2, Clip = 5 };

    [Fact]
    public void LearnsAndWritesTheRunFiles()
    {
        var (trainer, run, _) = Setup("learn", Config);
        var result = trainer.Run(TestContext.Current.CancellationToken);
        Assert.True(result.TestAccuracy > 0.9, $"accuracy {result.TestAccuracy}");
        Assert.Equal(24, result.Steps);
        Assert.True(File.Exists(run.Model));
        Assert.True(File.Exists(run.Checkpoint));
        var rows = History.Read(run.History);
        Assert.Equal(24, rows.Count(r => r.Split == "train"));
        Assert.Equal(3, rows.Count(r => r.Split == "val"));
        Assert.True(rows[0].Loss > rows[^2].Loss);
        // cosine schedule per step: the rate falls from 0.05 towards 0
        Assert.Equal(0.05, rows[0].Lr, 12);
        Assert.True(rows.Where(r => r.Split == "train").Last().Lr < 0.01);
    }

    [Fact]
    public void SameSeedGivesBitwiseIdenticalRuns()
    {
        var (a, runA, _) = Setup("a", Config);
        a.Run(TestContext.Current.CancellationToken);
        var (b, runB, _) = Setup("b", Config);
        b.Run(TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllBytes(runA.Model), File.ReadAllBytes(runB.Model));
        Assert.Equal(File.ReadAllText(runA.History), File.ReadAllText(runB.History));
    }

    [Fact]
    public void InterruptedAndResumedRunEqualsUninterruptedRun()
    {
        var (full, fullRun, _) = Setup("full", Config);
        full.Run(TestContext.Current.CancellationToken);

        var (part, partRun, _) = Setup("part", Config);
        using var cancel = new CancellationTokenSource();
        part.Observer = new CancelAt(13, cancel);
        var first = part.Run(cancel.Token);
        Assert.True(first.Interrupted);
        Assert.Equal(13, first.Steps);
        Assert.False(File.Exists(partRun.Model));

        // A new process would rebuild everything from scratch: new model (different init draw), new trainer.
        Rng.ManualSeed(999);
        var (resumed, _, _) = Setup("part", Config with { Seed = 7 });
        resumed.Resume();
        var second = resumed.Run(TestContext.Current.CancellationToken);
        Assert.False(second.Interrupted);
        Assert.Equal(24, second.Steps);
        Assert.Equal(File.ReadAllBytes(fullRun.Model), File.ReadAllBytes(partRun.Model));
        Assert.Equal(File.ReadAllText(fullRun.History), File.ReadAllText(partRun.History));
    }

    [Fact]
    public void DivergenceStopsNamingTheStepAndKeepsALoadableModel()
    {
        var (trainer, run, model) = Setup("diverge", Config with { Lr = 1e6, Schedule = "none", Clip = 0 });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run(TestContext.Current.CancellationToken));
        Assert.Contains("diverged at step", e.Message);
        Assert.True(File.Exists(run.Model));
        var weights = Loom.Interop.Safetensors.Load(run.Model).Tensors;
        Assert.All(weights.Values.Where(t => t.DType != DType.Int32), t => Assert.All(t.ToArray(), v => Assert.True(float.IsFinite(v))));
        model.LoadStateDict(weights);
    }

    private sealed class CancelAt(long step, CancellationTokenSource source) : ITrainingObserver
    {
        public void OnStep(StepReport report)
        {
            if (report.Step == step) source.Cancel();
        }
    }
}
