using Loom.Diagnostics;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// The fix the doctor gives for loss spikes is the exact re-run, computed from the run's own settings (config.json's
/// lr, clip, schedule): clipping, the rate ÷3 to one significant digit, a decaying schedule.
/// </summary>
public class SpikeRemedyTests
{
    private static Finding Spikes(DoctorOptions? options)
    {
        var (rows, classes) = SyntheticCurves.Make("spikes");
        return LossCurveDoctor.Diagnose(rows, classes, options).Findings.Single(f => f.Code == DoctorCodes.LossSpikes);
    }

    [Theory]
    // The course's spiky run: no clipping, a constant 1e-3.
    [InlineData(1e-3, 0.0, "none", "--clip 1 --lr 3e-4 --schedule cosine", 3e-4)]
    // Its re-run with that suggestion, if it still spiked: the next step down.
    [InlineData(3e-4, 1.0, "cosine", "--clip 1 --lr 1e-4 --schedule cosine", 1e-4)]
    // A looser clip is tightened to 1, a decaying schedule kept; 0.01 ÷ 3 = 0.0033 → 3e-3.
    [InlineData(0.01, 5.0, "onecycle", "--clip 1 --lr 3e-3 --schedule onecycle", 3e-3)]
    // A tighter clip is kept; 3e-3 ÷ 3 = 1e-3; 0.3 ÷ 3 = 0.1.
    [InlineData(3e-3, 0.5, "none", "--clip 0.5 --lr 1e-3 --schedule cosine", 1e-3)]
    [InlineData(0.3, 0.0, "step", "--clip 1 --lr 0.1 --schedule step", 0.1)]
    public void TheFixIsTheExactReRunFromTheRunsSettings(double lr, double clip, string schedule, string flags, double suggestedLr)
    {
        var spikes = Spikes(new DoctorOptions { Lr = lr, Clip = clip, Schedule = schedule });
        Assert.StartsWith($"re-run with {flags}:", spikes.Fixes[0], StringComparison.Ordinal);
        Assert.Equal(suggestedLr, spikes.Evidence["suggested_lr"], 15);
        Assert.Equal(Math.Min(clip > 0 ? clip : 1, 1), spikes.Evidence["suggested_clip"]);
        Assert.False(spikes.Evidence.ContainsKey("suggested_epochs"));
    }

    [Fact]
    public void WithTheRunsEpochsTheReRunIsThreeTimesLonger()
    {
        var spikes = Spikes(new DoctorOptions { Lr = 1e-3, Clip = 0, Schedule = "none", Epochs = 100 });
        Assert.StartsWith("re-run with --clip 1 --lr 3e-4 --schedule cosine --epochs 300:", spikes.Fixes[0], StringComparison.Ordinal);
        Assert.Equal(300, spikes.Evidence["suggested_epochs"]);
    }

    [Fact]
    public void WithoutTheRunsRateTheFixesStayGeneral()
    {
        var spikes = Spikes(null);
        Assert.Equal(["clip the gradient norm (--clip 1)", "lower the learning rate (÷3 to ÷10)", "a decaying schedule (--schedule cosine)"], spikes.Fixes);
        Assert.False(spikes.Evidence.ContainsKey("suggested_lr"));
    }

    [Fact]
    public void ARunDirectorysConfigGivesTheFlags()
    {
        var dir = Directory.CreateTempSubdirectory("loom-remedy-").FullName;
        try
        {
            var (rows, _) = SyntheticCurves.Make("spikes");
            File.WriteAllText(Path.Combine(dir, "history.csv"), History.Format(rows));
            var run = new RunDirectory(dir);
            File.WriteAllText(run.Config, new TrainConfig { Data = "temporal-order", Lr = 1e-3, Schedule = "none", Clip = 0, Epochs = 100 }.ToJson());
            var loaded = RunHistory.Load(dir);
            var spikes = LossCurveDoctor.Diagnose(loaded.Rows, 4, loaded.Options()).Findings.Single(f => f.Code == DoctorCodes.LossSpikes);
            Assert.StartsWith("re-run with --clip 1 --lr 3e-4 --schedule cosine --epochs 300:", spikes.Fixes[0], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
