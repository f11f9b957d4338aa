namespace Loom.Tests.Cli;

public class CliRunnerTests
{
    [Fact]
    public void FindsTheBuiltCliAndRunsIt()
    {
        Assert.True(File.Exists(Path.Combine(CliRunner.RepoRoot, "Loom.slnx")));
        Assert.True(File.Exists(CliRunner.CliDll), CliRunner.CliDll);
        var r = CliRunner.Run("--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("loom", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("shape", r.Stdout, StringComparison.Ordinal);
    }
}
