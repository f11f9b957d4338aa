using System.Text.Json;
using Loom.Tests.Data;
using Loom.Tests.Interop;
using Loom.Training;

namespace Loom.Tests.Cli;

/// <summary><c>loom export onnx RUN</c>, out of process: the file it writes passes the checker and runs like the run's model.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ExportsATrainedConvNetThatOnnxRuntimeRunsLikeLoom()
    {
        var run = _dir.File("cnn");
        var t = CliRunner.Run("train", "--data", "digits", "--model", "conv(4,3,p=1) bn relu maxpool(2) flatten linear({C})", "--epochs", "1", "--out", run);
        Assert.True(t.ExitCode == 0, t.ToString());
        var path = _dir.File("out/cnn.onnx");
        var r = CliRunner.Run("export", "onnx", run, "-o", path, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var o = doc.RootElement;
        Assert.Equal(path, o.GetProperty("path").GetString());
        Assert.Equal(17, o.GetProperty("opset").GetInt32());
        Assert.Equal(["batch", "1", "28", "28"], o.GetProperty("input").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["batch", "10"], o.GetProperty("output").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(new FileInfo(path).Length, o.GetProperty("bytes").GetInt64());
        Assert.Empty(Directory.GetFiles(_dir.File("out"), "*.tmp"));

        OnnxCheck.Checker(path);
        var session = TrainingSession.Open(run);
        session.LoadWeights();
        var g = new Generator(1);
        OnnxCheck.Compare(session.Model, path, Tensor.Rand(new Shape(1, 1, 28, 28), g), Tensor.Rand(new Shape(7, 1, 28, 28), g));
    }

    [Fact]
    public void ExportsATrainedLstmRunIntoTheRunDirectoryByDefault()
    {
        var run = _dir.File("lstm");
        var t = CliRunner.Run("train", "--data", "temporal-order", "--level", "easy", "--model", "lstm", "--epochs", "1", "--out", run);
        Assert.True(t.ExitCode == 0, t.ToString());
        var r = CliRunner.Run("export", "onnx", run);
        Assert.True(r.ExitCode == 0, r.ToString());
        var path = Path.Combine(run, "model.onnx");
        Assert.Contains($"wrote {path}", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("input [batch, sequence, ", r.Stdout, StringComparison.Ordinal);

        OnnxCheck.Checker(path);
        var session = TrainingSession.Open(run);
        session.LoadWeights();
        var g = new Generator(2);
        var features = session.Config.InputShape[^1];
        OnnxCheck.Compare(session.Model, path, Tensor.Randn(new Shape(2, 8, features), g), Tensor.Randn(new Shape(5, 12, features), g));
    }

    [Fact]
    public void MissingRunOrUnknownFormatIsOneLineWithoutATrace()
    {
        var r = CliRunner.Run("export", "onnx", _dir.File("nope"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("does not exist", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);

        var f = CliRunner.Run("export", "tflite", _dir.File("nope"));
        Assert.NotEqual(0, f.ExitCode);
        Assert.DoesNotContain("   at ", f.Stderr, StringComparison.Ordinal);
    }
}
