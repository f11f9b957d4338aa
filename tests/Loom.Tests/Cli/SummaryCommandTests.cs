using System.Text.Json;

namespace Loom.Tests.Cli;

public class SummaryCommandTests
{
    private const string SmallCnn = "conv(32,3,p=1) relu maxpool(2) conv(64,3,p=1) relu maxpool(2) flatten linear(128) relu linear(10)";

    [Fact]
    public void SmallCnnOnDigitsHas421642ParametersAndTenOutputs()
    {
        var r = CliRunner.Run("summary", SmallCnn, "--input", "1x28x28", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(421642, doc.RootElement.GetProperty("total_params").GetInt64());
        Assert.Equal([10], doc.RootElement.GetProperty("output").EnumerateArray().Select(e => e.GetInt32()));
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(10, layers.Count);
        Assert.Equal([64, 7, 7], layers[5].GetProperty("output").EnumerateArray().Select(e => e.GetInt32()));
        // receptive field after the second pool: 3 → 4 → 8 → 10 (r += (k−1)·j, j *= s)
        Assert.Equal(10, layers[5].GetProperty("receptive_field")[0].GetInt32());
        Assert.Equal(320, layers[0].GetProperty("params").GetInt64());
    }

    [Fact]
    public void TableNamesLayersShapesAndTotal()
    {
        var r = CliRunner.Run("summary", SmallCnn, "--input", "1x28x28");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[64, 7, 7]", r.Stdout);
        Assert.Contains("401,536", r.Stdout);
        Assert.Contains("Total parameters: 421,642", r.Stdout);
    }

    [Theory]
    [InlineData("conv(32,3) relu conx(3)", "unknown layer 'conx' at position 17")]
    [InlineData("conv(32) relu", "conv at position 1: missing kernel size")]
    [InlineData("linear(10,3,4)", "linear at position 1: takes at most 1 positional argument, found 3")]
    [InlineData("conv(8,3) flatten conv(4,3)", "conv at position 19: needs a C×H×W or C×L input, found [5408]")]
    [InlineData("conv(8,3 relu", "unexpected 'r' at position 10 in the arguments of conv")]
    [InlineData("res(conv(8,3,p=1))", "res at position 1: the block maps [1, 28, 28] to [8, 28, 28]")]
    [InlineData("conv(8,30)", "conv(8,30) at position 1 cannot take input [1, 28, 28]")]
    public void BadSpecsGiveOneLineWithThePosition(string spec, string expected)
    {
        var r = CliRunner.Run("summary", spec, "--input", "1x28x28");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void ResidualAndBasicBlocksBuild()
    {
        var r = CliRunner.Run("summary", "conv(16,3,p=same) bn relu res(conv(16,3,p=1) bn relu conv(16,3,p=1) bn) basic(32,s=2) gap flatten linear(10)", "--input", "3x32x32", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal([32, 16, 16], layers[4].GetProperty("output").EnumerateArray().Select(e => e.GetInt32()));
        // basic(32, s=2) from 16 channels: conv1 16·32·9 + bn1 64 + conv2 32·32·9 + bn2 64 + downsample 16·32 + 64
        Assert.Equal(16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32 + 64, layers[4].GetProperty("params").GetInt64());
    }
}
