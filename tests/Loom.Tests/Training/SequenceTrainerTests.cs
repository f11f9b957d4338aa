using Loom.Training;

namespace Loom.Tests.Training;

/// <summary>
/// Tests that train through <see cref="Trainer"/> and compare runs bit for bit: they seed the process-wide RNG and set
/// the process-wide thread count, so they run alone, never beside another test that does.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideRngCollection
{
    public const string Name = "Process-wide RNG and thread count";
}

[Collection(ProcessWideRngCollection.Name)]
public sealed class SequenceTrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "loom-seqtrainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private (Trainer Trainer, RunDirectory Run) EchoBitsTrainer(string name)
    {
        var config = SequenceTaskData.Resolve(new TrainConfig { Data = "echo-bits", Model = "rnn-relu", Epochs = 2, Lr = 0.01, Seed = 5, Threads = 1 });
        Rng.ManualSeed(config.Seed);
        Threads.Count = config.Threads;
        var data = SequenceTaskData.Create(config);
        var run = new RunDirectory(Path.Combine(_root, name));
        return (new Trainer(data.CreateModel(config), data, config, run), run);
    }

    [Fact]
    public void EchoBitsResumedMidEpochContinuesTheCarriedState()
    {
        var (full, fullRun) = EchoBitsTrainer("full");
        full.Run(TestContext.Current.CancellationToken);

        // Interrupted after chunk 17 of epoch 1: the checkpoint must hold the state carried into chunk 18.
        var (part, partRun) = EchoBitsTrainer("part");
        using var cancel = new CancellationTokenSource();
        part.Observer = new CancelAt(17, cancel);
        Assert.True(part.Run(cancel.Token).Interrupted);
        var carried = Loom.Interop.Safetensors.Load(partRun.Checkpoint).Tensors;
        Assert.Equal(new Shape(1, 32, 8), carried["carried/h"].Shape);
        Assert.Contains(carried["carried/h"].ToArray(), v => v != 0);

        Rng.ManualSeed(999);
        var (resumed, _) = EchoBitsTrainer("part");
        resumed.Resume();
        Assert.False(resumed.Run(TestContext.Current.CancellationToken).Interrupted);
        // Bitwise the uninterrupted run: with the state lost, chunk 18 would start from zeros and the losses differ.
        Assert.Equal(File.ReadAllText(fullRun.History), File.ReadAllText(partRun.History));
        Assert.Equal(File.ReadAllBytes(fullRun.Model), File.ReadAllBytes(partRun.Model));
    }

    private sealed class CancelAt(long step, CancellationTokenSource source) : ITrainingObserver
    {
        public void OnStep(StepReport report)
        {
            if (report.Step == step) source.Cancel();
        }
    }
}
