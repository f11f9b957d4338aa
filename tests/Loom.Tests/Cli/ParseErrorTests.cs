namespace Loom.Tests.Cli;

/// <summary>A mistyped command line: the parser's error, a did-you-mean where one fits, and where the help is — not
/// the whole help page, which buried the one line that mattered.</summary>
public class ParseErrorTests
{
    [Theory]
    [InlineData("Option '--epochs' expects a single argument but 2 were provided.", "loom train", "train", "--epochs", "1", "--epochs", "2")]
    [InlineData("Unrecognized command or argument '--bogus'.", "loom train", "train", "--bogus")]
    [InlineData("Unrecognized command or argument 'trian'.", "loom", "trian")]
    [InlineData("Unrecognized command or argument '--nope'.", "loom shape conv2d", "shape", "conv2d", "--nope")]
    public void ErrorAndAPointerToTheHelpNotTheHelpPage(string error, string helpFor, params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains(error, r.Stderr, StringComparison.Ordinal);
        Assert.EndsWith($"See '{helpFor} --help'.", r.Stderr.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", r.Stdout + r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ATypoStillGetsItsSuggestion()
    {
        var r = CliRunner.Run("trian");
        Assert.Contains("Did you mean", r.Stdout + r.Stderr, StringComparison.Ordinal);
        Assert.Contains("train", r.Stdout, StringComparison.Ordinal);
    }
}
