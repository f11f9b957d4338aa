using Loom.Data;
using Loom.Diagnostics;
using Loom.Nn.Spec;
using Loom.Tests.Data;
using Loom.Training;

namespace Loom.Tests.Training;

/// <summary>The doctor inside the Trainer: live findings once per code, doctor.md at the end, divergence rows kept.</summary>
[Collection(ProcessWideRngCollection.Name)] // its tiny runs seed the process-wide RNG and set the thread count
public class TrainerDoctorTests
{
    /// <summary>Four classes of 1×4×4 "images": class k lights pixel group k. Learnable in a few steps.</summary>
    private static ImageSplits Blocks()
    {
        ImageDataset Make(int n, ulong seed)
        {
            var g = new Generator(seed);
            var images = new float[n * 16];
            var labels = new int[n];
            for (var i = 0; i < n; i++)
            {
                labels[i] = i % 4;
                for (var k = 0; k < 16; k++) images[i * 16 + k] = (float)(g.NextNormal() * 0.3 + (k / 4 == labels[i] ? 1 : 0));
            }
            return new ImageDataset("blocks", images, labels, 1, 4, 4, ["a", "b", "c", "d"]);
        }
        return new ImageSplits("blocks", "generated", Make(256, 1), Make(64, 2));
    }

    private static (Trainer, RunDirectory) Setup(string root, TrainConfig config, double lastLayerScale, Collector observer)
    {
        Rng.ManualSeed(config.Seed);
        Threads.Count = config.Threads;
        var model = ModelBuilder.Build("flatten linear(16) relu linear(4)", new Shape(1, 4, 4)).Model;
        foreach (var p in model.NamedParameters().TakeLast(2))
        {
            var v = p.Value.AsSpan();
            for (var i = 0; i < v.Length; i++) v[i] *= (float)lastLayerScale;
        }
        var data = new ImageClassificationData(Blocks(), new DataLoaderOptions { BatchSize = 16, Seed = config.Seed });
        var run = new RunDirectory(Path.Combine(root, "run"));
        return (new Trainer(model, data, config, run, observer), run);
    }

    private static TrainConfig Config => new() { Epochs = 3, Lr = 0.05, Optimizer = "sgd", Schedule = "none", Seed = 3, Threads = 1 };

    [Fact]
    public void LiveFindingsAreReportedOnceAndDoctorMdIsWritten()
    {
        using var dir = new TempDirectory();
        var observer = new Collector();
        // Logits ×60 at initialisation: the first loss is far above ln 4, every epoch's check sees it again.
        var (trainer, run) = Setup(dir.Path, Config, 60, observer);
        trainer.Run(TestContext.Current.CancellationToken);
        var initial = Assert.Single(observer.Findings, f => f.Code == DoctorCodes.InitialLossOff);
        Assert.True(initial.Evidence["ratio_to_ln_c"] > 1.5, $"ratio {initial.Evidence["ratio_to_ln_c"]}");
        Assert.Equal(observer.Findings.Count, observer.Findings.Select(f => f.Code).Distinct().Count());
        var md = File.ReadAllText(run.Doctor);
        Assert.Contains("## `initial-loss-off` (warning)", md);
    }

    [Fact]
    public void AHealthyRunGetsAHealthyDoctorMdAndNoLiveFindings()
    {
        using var dir = new TempDirectory();
        var observer = new Collector();
        var (trainer, run) = Setup(dir.Path, Config, 1, observer);
        var result = trainer.Run(TestContext.Current.CancellationToken);
        Assert.True(result.TestAccuracy > 0.9, $"accuracy {result.TestAccuracy}");
        Assert.Empty(observer.Findings);
        Assert.Contains("## `healthy` (info)", File.ReadAllText(run.Doctor));
    }

    [Fact]
    public void TheDoctorCanBeTurnedOff()
    {
        using var dir = new TempDirectory();
        var observer = new Collector();
        var (trainer, run) = Setup(dir.Path, Config, 60, observer);
        trainer.Doctor = false;
        trainer.Run(TestContext.Current.CancellationToken);
        Assert.Empty(observer.Findings);
        Assert.False(File.Exists(run.Doctor));
    }

    [Fact]
    public void DivergenceKeepsTheNonFiniteRowAndTheDoctorNamesIt()
    {
        using var dir = new TempDirectory();
        var (trainer, run) = Setup(dir.Path, Config with { Lr = 1e9 }, 1, new Collector());
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run(TestContext.Current.CancellationToken));
        var rows = History.Read(run.History);
        var last = rows[^1];
        Assert.True(!double.IsFinite(last.Loss) || !double.IsFinite(last.GradNorm), $"last row {last}");
        Assert.Contains($"step {last.Step}", e.Message);
        var report = LossCurveDoctor.Diagnose(rows, 4);
        Assert.Equal(DoctorCodes.Diverged, report.Findings[0].Code);
        Assert.Contains("## `diverged` (error)", File.ReadAllText(run.Doctor));
    }

    private sealed class Collector : ITrainingObserver
    {
        public List<Finding> Findings { get; } = [];

        public void OnFinding(Finding finding) => Findings.Add(finding);
    }
}
