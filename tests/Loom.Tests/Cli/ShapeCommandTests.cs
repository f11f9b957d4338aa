using System.Text.Json;

namespace Loom.Tests.Cli;

/// <summary><c>loom shape</c> run as a user runs it: the seed's numbers, the derivation, and one-line errors.</summary>
public class ShapeCommandTests
{
    private static JsonElement Json(params string[] args)
    {
        var r = CliRunner.Run(["shape", .. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        // Exactly one JSON object: JsonDocument.Parse rejects anything after it.
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    private static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    [Theory]
    // The seed: 21x12 input, kernel 4x5, stride 4 → 5x2; with padding top 0, bottom 1, left 2, right 0 → 5x3.
    [InlineData(new[] { 1, 5, 2 }, "conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4")]
    [InlineData(new[] { 1, 5, 3 }, "conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4", "--padding", "0,1,2,0")]
    [InlineData(new[] { 8, 15, 15 }, "conv2d", "--input", "3x32x32", "--kernel", "3", "--stride", "2", "--padding", "1", "--dilation", "2", "--filters", "8")]
    // The sheet's 1-D problem: 5 channels, length 7, kernel 3, stride 2.
    [InlineData(new[] { 1, 3 }, "conv1d", "--input", "5x7", "--kernel", "3", "--stride", "2")]
    [InlineData(new[] { 1, 6 }, "conv1d", "--input", "5x7", "--kernel", "3", "--padding", "1,0")]
    [InlineData(new[] { 4, 32, 32 }, "conv2d", "--input", "3x32x32", "--kernel", "4", "--padding", "same", "--filters", "4")]
    [InlineData(new[] { 6, 10, 4 }, "conv2d", "--input", "3x12x8", "--kernel", "3x5", "--padding", "valid", "--filters", "6", "--groups", "3")]
    [InlineData(new[] { 8, 14, 14 }, "convtranspose2d", "--input", "16x7x7", "--kernel", "3", "--stride", "2", "--padding", "1", "--output-padding", "1", "--filters", "8")]
    [InlineData(new[] { 16, 14, 14 }, "maxpool2d", "--input", "16x28x28", "--kernel", "2")] // stride defaults to the kernel
    [InlineData(new[] { 16, 3, 3 }, "maxpool2d", "--input", "16x5x5", "--kernel", "2", "--padding", "1", "--ceil-mode")] // PyTorch drops the last window
    [InlineData(new[] { 16, 15, 15 }, "maxpool2d", "--input", "16x28x28", "--kernel", "3", "--stride", "2", "--padding", "1", "--ceil-mode")] // ceil(27/2) + 1
    [InlineData(new[] { 16, 14, 14 }, "maxpool2d", "--input", "16x28x28", "--kernel", "3", "--stride", "2", "--padding", "1")]
    [InlineData(new[] { 3, 9, 9 }, "avgpool2d", "--input", "3x28x28", "--kernel", "3")]
    public void JsonOutputIsTheExpectedShape(int[] expected, params string[] args)
    {
        var json = Json(args);
        Assert.Equal(expected, Ints(json.GetProperty("output")));
        Assert.Equal(args[0], json.GetProperty("op").GetString());
        Assert.Equal(expected.Length - 1, json.GetProperty("axes").GetArrayLength());
    }

    [Fact]
    public void JsonEchoesTheInputsAndGivesPerAxisDetails()
    {
        var json = Json("conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4", "--padding", "0,1,2,0");
        Assert.Equal([1, 21, 12], Ints(json.GetProperty("input")));
        Assert.Equal([4, 5], Ints(json.GetProperty("kernel")));
        Assert.Equal([4, 4], Ints(json.GetProperty("stride")));
        Assert.Equal([1, 1], Ints(json.GetProperty("dilation")));
        Assert.Equal([0, 1, 2, 0], Ints(json.GetProperty("padding"))); // top, bottom, left, right
        Assert.Equal(1, json.GetProperty("filters").GetInt32());
        var h = json.GetProperty("axes")[0];
        Assert.Equal("H", h.GetProperty("axis").GetString());
        Assert.Equal(5, h.GetProperty("output").GetInt32());
        Assert.Equal("H' = floor((21 + 0 + 1 − 1·(4−1) − 1)/4) + 1 = floor(18/4) + 1 = 5", h.GetProperty("derivation").GetString());
        var w = json.GetProperty("axes")[1];
        Assert.Equal(2, w.GetProperty("pad_low").GetInt32());
        Assert.Equal(0, w.GetProperty("pad_high").GetInt32());
        Assert.Equal(3, w.GetProperty("output").GetInt32());
        Assert.Equal([1, 1, 4, 5], Ints(json.GetProperty("weight")));
        Assert.Equal(21, json.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void SamePaddingPutsTheOddPixelAfter()
    {
        var json = Json("conv2d", "--input", "3x32x32", "--kernel", "4", "--padding", "same", "--filters", "4");
        Assert.Equal([1, 2, 1, 2], Ints(json.GetProperty("padding")));
        Assert.Equal("same", json.GetProperty("padding_spec").GetString());
    }

    [Fact]
    public void ExplainShowsTheSeedsDerivationPerAxis()
    {
        var r = CliRunner.Run("shape", "conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4", "--explain");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("H' = floor((H + p_lo + p_hi − d·(k−1) − 1)/s) + 1", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("H' = floor((21 + 0 + 0 − 1·(4−1) − 1)/4) + 1 = floor(17/4) + 1 = 5", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("W' = floor((12 + 0 + 0 − 1·(5−1) − 1)/4) + 1 = floor(7/4) + 1 = 2", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("output: 1x5x2", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainOutputIsOneLine()
    {
        var r = CliRunner.Run("shape", "conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("conv2d: input 1x21x12 → output 1x5x2", r.Stdout.Trim());
    }

    [Theory]
    [InlineData("conv1d")]
    [InlineData("conv2d")]
    [InlineData("convtranspose2d")]
    [InlineData("maxpool2d")]
    [InlineData("avgpool2d")]
    public void HelpHasAnExample(string op)
    {
        var r = CliRunner.Run("shape", op, "--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage:", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("--input", r.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Example", r.Stdout, StringComparison.Ordinal);
        Assert.Contains($"loom shape {op} --input", r.Stdout, StringComparison.Ordinal);
    }

    /// <summary>A bad input: exit non-zero, one line on stderr (so no stack trace) starting "loom: " with every fragment in it.</summary>
    private static void AssertOneLineError(CliResult r, params string[] fragments)
    {
        Assert.True(r.ExitCode != 0, r.ToString());
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("loom: ", line, StringComparison.Ordinal);
        foreach (var f in fragments) Assert.Contains(f, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void KernelLargerThanThePaddedInputNamesKernelSizeAndRequirement()
    {
        var r = CliRunner.Run("shape", "conv2d", "--input", "1x3x3", "--kernel", "5");
        AssertOneLineError(r, "kernel 5", "padded height is 3", "D·(K−1)+1");
    }

    [Fact]
    public void SamePaddingWithStrideTwoIsAClearError()
    {
        var r = CliRunner.Run("shape", "conv2d", "--input", "3x32x32", "--kernel", "4", "--padding", "same", "--stride", "2");
        AssertOneLineError(r, "'same'", "stride 1", "found stride 2");
    }

    [Theory]
    [InlineData("--input", "1x", "CxHxW")]
    [InlineData("--input", "axb", "CxHxW")]
    [InlineData("--input", "1x2", "CxHxW")]
    [InlineData("--input", "1x2x3x4", "CxHxW")]
    [InlineData("--input", "0x3x3", "positive")]
    [InlineData("--input", "1x-3x3", "positive")]
    [InlineData("--kernel", "0", "positive")]
    [InlineData("--kernel", "-2", "positive")]
    [InlineData("--kernel", "3x3x3", "K or KHxKW")]
    [InlineData("--stride", "0", "positive")]
    [InlineData("--stride", "-1", "positive")]
    [InlineData("--stride", "2x", "S or SHxSW")]
    [InlineData("--dilation", "0", "positive")]
    [InlineData("--dilation", "-1", "positive")]
    [InlineData("--padding", "-1", "non-negative")]
    [InlineData("--padding", "1,2", "T,B,L,R")]
    [InlineData("--padding", "abc", "T,B,L,R")]
    [InlineData("--filters", "0", "positive")]
    [InlineData("--filters", "-4", "positive")]
    [InlineData("--groups", "0", "positive")]
    public void BadOptionValuesAreOneLineErrors(string option, string value, string expectation)
    {
        var args = new Dictionary<string, string> { ["--input"] = "3x8x8", ["--kernel"] = "3" };
        args[option] = value;
        var r = CliRunner.Run(["shape", "conv2d", .. args.SelectMany(kv => new[] { kv.Key, kv.Value })]);
        AssertOneLineError(r, option, expectation, value);
    }

    [Fact]
    public void Conv1dWantsTwoSizesAndOneOrTwoPaddings()
    {
        AssertOneLineError(CliRunner.Run("shape", "conv1d", "--input", "1x2x3", "--kernel", "3"), "--input", "CxL", "1x2x3");
        AssertOneLineError(CliRunner.Run("shape", "conv1d", "--input", "5x7", "--kernel", "3", "--padding", "1,2,3,4"), "--padding", "L,R", "1,2,3,4");
    }

    [Fact]
    public void ChannelsAndFiltersMustDivideByGroups()
    {
        AssertOneLineError(CliRunner.Run("shape", "conv2d", "--input", "3x8x8", "--kernel", "3", "--groups", "2", "--filters", "2"),
            "input channels 3", "divisible by --groups 2");
        AssertOneLineError(CliRunner.Run("shape", "conv2d", "--input", "4x8x8", "--kernel", "3", "--groups", "2", "--filters", "3"),
            "--filters 3", "divisible by --groups 2");
    }

    [Fact]
    public void PoolingChecksPaddingAgainstHalfTheKernel()
    {
        AssertOneLineError(CliRunner.Run("shape", "maxpool2d", "--input", "1x5x5", "--kernel", "2", "--padding", "2"), "maxpool2d", "half the kernel");
        AssertOneLineError(CliRunner.Run("shape", "avgpool2d", "--input", "1x5x5", "--kernel", "2", "--padding", "same"), "avgpool2d", "same");
    }

    [Fact]
    public void TransposedOutputPaddingMustBeBelowStrideOrDilation()
        => AssertOneLineError(CliRunner.Run("shape", "convtranspose2d", "--input", "1x5x5", "--kernel", "3", "--output-padding", "1"),
            "output_padding 1", "smaller than the stride 1");

    [Theory]
    [InlineData("shape", "conv2d", "--input", "1x8x8")] // --kernel missing
    [InlineData("shape", "conv2d", "--kernel", "3")] // --input missing
    [InlineData("shape", "conv2d", "--input", "1x8x8", "--kernel", "3", "--bogus")]
    [InlineData("shape", "conv2d", "--input", "1x8x8", "--kernel", "3", "--filters", "abc")]
    [InlineData("shape", "conv3d", "--input", "1x8x8x8", "--kernel", "3")]
    [InlineData("shape")]
    public void ParseErrorsExitNonZero(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.NotEqual("", r.Stderr.Trim());
        Assert.DoesNotContain("Exception", r.Stderr, StringComparison.Ordinal);
    }
}
