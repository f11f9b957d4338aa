using Loom.Diagnostics;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

public class LossCurveDoctorTests
{
    public static TheoryData<string> Curves => [.. SyntheticCurves.Names];

    [Theory]
    [MemberData(nameof(Curves))]
    public void EachCurveGetsItsCodesAndNoOther(string name)
    {
        var (rows, classes) = SyntheticCurves.Make(name);
        var report = LossCurveDoctor.Diagnose(rows, classes);
        Assert.Equal(SyntheticCurves.Expected(name).Order(), report.Codes.Order());
        foreach (var f in report.Findings.Where(f => f.Code != DoctorCodes.Healthy))
        {
            Assert.NotEmpty(f.Evidence);
            Assert.NotEmpty(f.Steps);
            Assert.NotEmpty(f.Fixes);
        }
    }

    [Fact]
    public void PlateauNamesLnCAndChanceAccuracy()
    {
        var (rows, classes) = SyntheticCurves.Make("plateau");
        var plateau = Assert.Single(LossCurveDoctor.Diagnose(rows, classes).Findings);
        Assert.Equal(Math.Log(4), plateau.Evidence["ln_c"], 12);
        Assert.Equal(0.25, plateau.Evidence["chance_accuracy"]);
        Assert.Equal(1.0, plateau.Evidence["plateau_fraction"], 2);
        Assert.Contains("ln 4 = 1.386", plateau.Summary);
    }

    [Fact]
    public void SpikesAreTiedToGradNormsAndCountedAboveTheInitialLoss()
    {
        var (rows, classes) = SyntheticCurves.Make("spikes");
        var spikes = LossCurveDoctor.Diagnose(rows, classes).Findings.Single(f => f.Code == DoctorCodes.LossSpikes);
        Assert.Equal(7, spikes.Evidence["spikes"]); // t = 45, 135, …, 585: seven pairs of steps, all recovered
        Assert.Equal(7, spikes.Evidence["spikes_above_initial_loss"]);
        Assert.True(spikes.Evidence["grad_norm_ratio_at_spikes"] > 20);
        Assert.Contains(spikes.Fixes, f => f.Contains("--clip", StringComparison.Ordinal));
        Assert.Equal(46L, spikes.Steps[0]);
    }

    [Fact]
    public void OverfittingNamesTheBestEpoch()
    {
        var (rows, classes) = SyntheticCurves.Make("overfit");
        var f = LossCurveDoctor.Diagnose(rows, classes).Findings.Single();
        Assert.Equal(4, f.Evidence["best_epoch"]);
        Assert.Equal(0.7, f.Evidence["best_val_loss"], 12);
        Assert.Contains(f.Fixes, x => x.Contains("epoch 4", StringComparison.Ordinal));
    }

    [Fact]
    public void DivergenceNamesTheFirstNonFiniteStep()
    {
        var (rows, classes) = SyntheticCurves.Make("nan");
        var f = LossCurveDoctor.Diagnose(rows, classes).Findings.Single();
        Assert.Equal(Severity.Error, f.Severity);
        Assert.Equal(301L, f.Steps.Single());
        Assert.Equal(301, f.Evidence["first_non_finite_step"]);
    }

    [Fact]
    public void WithoutClassesTheLnCChecksAreSkipped()
    {
        var (rows, _) = SyntheticCurves.Make("plateau");
        Assert.DoesNotContain(DoctorCodes.PlateauAtChance, LossCurveDoctor.Diagnose(rows, classes: null).Codes);
        var (high, _) = SyntheticCurves.Make("initial-high");
        Assert.DoesNotContain(DoctorCodes.InitialLossOff, LossCurveDoctor.Diagnose(high, classes: null).Codes);
    }

    [Fact]
    public void FiniteGrowthWithoutRecoveryIsDivergence()
    {
        var rows = new List<HistoryRow>();
        for (var t = 1; t <= 300; t++) rows.Add(new HistoryRow(t, 1 + (t - 1) / 60, "train", t < 100 ? 2.3 - t * 0.015 : 0.8 + (t - 100) * 0.1, double.NaN, 1e-3, double.NaN));
        var f = LossCurveDoctor.Diagnose(rows, 10).Findings[0];
        Assert.Equal(DoctorCodes.Diverged, f.Code);
        Assert.True(f.Evidence["growth_over_best"] > 3);
    }

    [Fact]
    public void JsonHasTheContractsFields()
    {
        var (rows, classes) = SyntheticCurves.Make("spikes");
        var json = System.Text.Json.Nodes.JsonNode.Parse(LossCurveDoctor.Diagnose(rows, classes).ToJson())!;
        var first = json["findings"]![0]!;
        Assert.Equal("loss-spikes", (string)first["code"]!);
        Assert.Equal("warning", (string)first["severity"]!);
        Assert.Equal(46, (long)first["steps"]![0]!);
        Assert.True((double)first["evidence"]!["spikes"]! > 0);
        Assert.NotEmpty(first["fixes"]!.AsArray());
    }

    [Fact]
    public void MarkdownListsEveryFindingWithItsEvidence()
    {
        var (rows, classes) = SyntheticCurves.Make("spikes");
        var md = LossCurveDoctor.Diagnose(rows, classes).ToMarkdown("spiky");
        Assert.StartsWith("# Loss-curve doctor: spiky", md);
        Assert.Contains("## `loss-spikes` (warning)", md);
        Assert.Contains("## `exploding-gradients` (warning)", md);
        Assert.Contains("| grad_norm_ratio_at_spikes |", md);
    }

    [Fact]
    public void UnderClippingGradNormJumpsAreInformation()
    {
        var (rows, classes) = SyntheticCurves.Make("spikes");
        var exploding = LossCurveDoctor.Diagnose(rows, classes, new DoctorOptions { Clip = 1 }).Findings.Single(f => f.Code == DoctorCodes.ExplodingGradients);
        Assert.Equal(Severity.Info, exploding.Severity);
        Assert.Equal(1, exploding.Evidence["clip"]);
        Assert.Contains("clipped to norm 1", exploding.Summary);
    }
}
