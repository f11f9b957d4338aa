using System.Text.Json;
using Loom.Tests.Data;

namespace Loom.Tests.Cli;

/// <summary><c>loom train</c> on the sequence tasks, <c>loom eval</c> of such runs, and <c>loom gradflow</c>, out of process.</summary>
public sealed class SequenceCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EchoWithGruWritesTheRunAndTheJsonReport()
    {
        var run = _dir.File("echo");
        var r = CliRunner.Run("train", "--data", "echo", "--delay", "2", "--model", "gru", "--hidden", "16", "--epochs", "2", "--json", "--out", run);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var o = doc.RootElement;
        var accuracy = o.GetProperty("test_accuracy").GetDouble();
        Assert.InRange(accuracy, 0, 1);
        Assert.True(o.GetProperty("seconds").GetDouble() > 0);
        Assert.Equal(2, o.GetProperty("epochs").GetInt32());
        Assert.Equal(64, o.GetProperty("steps").GetInt64());
        Assert.Equal(run, o.GetProperty("run_dir").GetString());
        foreach (var file in new[] { "config.json", "history.csv", "model.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json")));
        var c = config.RootElement;
        Assert.Equal("echo", c.GetProperty("data").GetString());
        Assert.Equal("gru", c.GetProperty("model").GetString());
        Assert.Equal(16, c.GetProperty("hidden").GetInt32());
        Assert.Equal(2, c.GetProperty("delay").GetInt32());
        Assert.Equal(1, c.GetProperty("layers").GetInt32());
        // The sequence defaults apply where the option was not given, and are recorded.
        Assert.Equal(0.01, c.GetProperty("lr").GetDouble());
        Assert.Equal("cosine", c.GetProperty("schedule").GetString());
        Assert.Equal(27, c.GetProperty("num_classes").GetInt32());
    }

    [Fact]
    public void TemporalOrderEasyWithLstmLearnsAndEvalAgrees()
    {
        var run = _dir.File("to");
        var r = CliRunner.Run("train", "--data", "temporal-order", "--level", "easy", "--model", "lstm", "--epochs", "5", "--threads", "2", "--json", "--out", run);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var accuracy = doc.RootElement.GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy >= 0.9, $"test accuracy {accuracy}");
        var e = CliRunner.Run("eval", run, "--json");
        Assert.True(e.ExitCode == 0, e.ToString());
        using var eval = JsonDocument.Parse(e.Stdout);
        Assert.Equal(accuracy, eval.RootElement.GetProperty("test_accuracy").GetDouble(), 12);
        Assert.Equal("temporal-order", eval.RootElement.GetProperty("data").GetString());
    }

    [Fact]
    public void EchoBitsCarriesStateAndEvalAgrees()
    {
        var run = _dir.File("bits");
        var r = CliRunner.Run("train", "--data", "echo-bits", "--epochs", "1", "--json", "--out", run);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var e = CliRunner.Run("eval", run, "--json");
        Assert.True(e.ExitCode == 0, e.ToString());
        using var eval = JsonDocument.Parse(e.Stdout);
        Assert.Equal(doc.RootElement.GetProperty("test_accuracy").GetDouble(), eval.RootElement.GetProperty("test_accuracy").GetDouble(), 12);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json")));
        Assert.Equal("rnn-relu", config.RootElement.GetProperty("model").GetString());
        Assert.Equal(3, config.RootElement.GetProperty("delay").GetInt32());
    }

    [Theory]
    [InlineData("--model lstx", "--model lstx")]
    [InlineData("--model smallcnn", "--model smallcnn")]
    [InlineData("--level impossible", "--level impossible")]
    [InlineData("--delay 15", "delay 15")]
    [InlineData("--hidden 0", "--hidden must be positive, found 0")]
    [InlineData("--model attention-rnn --k 0", "--k must be at least 1, found 0")]
    public void BadSequenceInputGivesOneLineNamingTheValue(string args, string expected)
    {
        var data = args.Contains("--level", StringComparison.Ordinal) ? "temporal-order" : "echo";
        var r = CliRunner.Run(["train", "--data", data, .. args.Split(' '), "--epochs", "1", "--out", _dir.File("bad")], null);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Theory]
    [InlineData("echo", "--hidden -3", "--hidden must be positive, found -3")]
    [InlineData("echo", "--max-delay 20", "max delay 20 must be less than the sequence length 20")]
    [InlineData("echo", "--delay 4 --max-delay 8", "--delay 4 and --max-delay 8 exclude each other")]
    [InlineData("echo-bits", "--delay 1000", "echo-bits: delay 1000 must be less than the sequence length 1000")]
    [InlineData("echo-bits", "--level easy", "--level easy applies to temporal-order, not echo-bits")]
    [InlineData("temporal-order", "--model gated-rnn --layers 2", "gated-rnn: has one layer; --layers 2")]
    [InlineData("temporal-order", "--model lstm --k 3", "--k 3 applies to attention-rnn, not lstm")]
    [InlineData("temporal-order", "--model attention-rnn --k -1", "--k must be at least 1, found -1")]
    public void MoreBadSequenceInputNamesTheValue(string data, string args, string expected)
    {
        var r = CliRunner.Run(["train", "--data", data, .. args.Split(' '), "--epochs", "1", "--out", _dir.File("bad")], null);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Theory]
    [InlineData("--model lstx", "--model lstx")]
    [InlineData("--level impossible", "--level impossible")]
    [InlineData("--hidden 0", "--hidden must be positive, found 0")]
    [InlineData("--model attention-rnn --k 0", "--k must be at least 1, found 0")]
    [InlineData("--batch-size 0", "--batch-size must be positive, found 0")]
    public void BadGradflowInputGivesOneLineNamingTheValue(string args, string expected)
    {
        var r = CliRunner.Run(["gradflow", "--data", "temporal-order", .. args.Split(' '), "--json"], null);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void GradflowOfARunThatIsNotASequenceTaskIsAnError()
    {
        var r = CliRunner.Run("gradflow", _dir.File("no-such-run"), "--json");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("no-such-run", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void RecurrentModelOnImageDataIsAnError()
    {
        var r = CliRunner.Run("train", "--data", "digits", "--model", "gru", "--out", _dir.File("img"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("--model gru", r.Stderr);
        Assert.Contains("--data digits", r.Stderr);
    }

    [Fact]
    public void GradflowOfAFreshTanhRnnVanishes()
    {
        var r = CliRunner.Run("gradflow", "--data", "temporal-order", "--level", "normal", "--model", "rnn", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var o = doc.RootElement;
        Assert.Equal("RNN", o.GetProperty("model").GetString());
        var steps = o.GetProperty("steps").GetInt32();
        Assert.Equal(40, steps);
        Assert.Equal(steps, o.GetProperty("grad_norms").GetArrayLength());
        Assert.True(o.GetProperty("first_to_last").GetDouble() < 1e-6, r.Stdout);
    }

    [Fact]
    public void GradflowOfATrainedRunDrawsAPng()
    {
        var run = _dir.File("gf");
        var t = CliRunner.Run("train", "--data", "temporal-order", "--level", "easy", "--epochs", "1", "--out", run);
        Assert.True(t.ExitCode == 0, t.ToString());
        var png = _dir.File("gf.png");
        var r = CliRunner.Run("gradflow", run, "--json", "--png", png);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("LSTM", doc.RootElement.GetProperty("model").GetString());
        Assert.Equal(8, doc.RootElement.GetProperty("steps").GetInt32());
        Assert.True(new FileInfo(png).Length > 1000);
    }
}
