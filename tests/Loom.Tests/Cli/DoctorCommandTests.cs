using System.Text.Json.Nodes;
using Loom.Tests.Data;
using Loom.Tests.Diagnostics;
using Loom.Training;

namespace Loom.Tests.Cli;

public class DoctorCommandTests
{
    public static TheoryData<string> Curves => [.. SyntheticCurves.Names];

    /// <summary>The acceptance: curves the doctor has never seen, through <c>loom doctor FILE --classes C --json</c>.</summary>
    [Theory]
    [MemberData(nameof(Curves))]
    public void JsonGivesTheRightCodes(string name)
    {
        using var dir = new TempDirectory();
        var (rows, classes) = SyntheticCurves.Make(name);
        var file = dir.File($"{name}.csv");
        File.WriteAllText(file, History.Format(rows));
        var r = CliRunner.Run("doctor", file, "--classes", classes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var findings = JsonNode.Parse(r.Stdout)!["findings"]!.AsArray();
        Assert.Equal(SyntheticCurves.Expected(name).Order(), findings.Select(f => (string)f!["code"]!).Order());
        foreach (var f in findings)
        {
            Assert.NotNull(f!["severity"]);
            Assert.NotNull(f["steps"]!.AsArray());
            Assert.NotEmpty(f["evidence"]!.AsObject());
            Assert.NotNull(f["fixes"]!.AsArray());
        }
    }

    [Theory]
    [InlineData("step,epoch,loss\n1,1,2.3\n", "line 1: missing column split")]
    [InlineData("step,epoch,split,loss\n1,1,train,2.3\n2,1,train,abc\n", "line 3: loss 'abc' is not a number")]
    [InlineData("step,epoch,split,loss,accuracy,lr,grad_norm\n", "has a header but no rows")]
    [InlineData("step,epoch,split,loss\n1,1,train,2.3\n3,1,train,2.2\n2,1,train,2.1\n", "line 4: step 2 comes after step 3")]
    public void BadHistoriesGetOneLineNamingTheLine(string text, string expected)
    {
        using var dir = new TempDirectory();
        var file = dir.File("history.csv");
        File.WriteAllText(file, text);
        var r = CliRunner.Run("doctor", file);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        Assert.Contains(expected, line);
        Assert.Contains(file, line);
    }

    [Fact]
    public void ARunDirectoryWithoutHistoryNamesWhatWasLookedFor()
    {
        using var dir = new TempDirectory();
        var r = CliRunner.Run("doctor", dir.Path);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        Assert.Contains(Path.Combine(dir.Path, "history.csv"), line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void ARunDirectoryGetsItsClassesFromConfigAndDoctorMd()
    {
        using var dir = new TempDirectory();
        var (rows, _) = SyntheticCurves.Make("plateau");
        File.WriteAllText(dir.File("history.csv"), History.Format(rows));
        File.WriteAllText(dir.File("config.json"), new TrainConfig { NumClasses = 4 }.ToJson());
        var r = CliRunner.Run("doctor", dir.Path);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("plateau-at-chance", r.Stdout);
        Assert.Contains("ln 4 = 1.386", r.Stdout);
        Assert.Contains("try:", r.Stdout);
        var md = File.ReadAllText(dir.File("doctor.md"));
        Assert.Contains("## `plateau-at-chance` (warning)", md);
        Assert.Contains("| ln_c | 1.38629 |", md);
    }
}
