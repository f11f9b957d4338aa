using System.Text.Json.Nodes;
using Loom.Interop;
using Loom.Tests.Cli;
using Loom.Training;

namespace Loom.Tests.Imaging;

/// <summary><c>loom show</c> and the end of <c>loom train</c>, out of process on the tiny run.</summary>
[Collection(TinyRunCollection.Name)]
public sealed class ShowCommandTests(TinyRun tiny)
{
    private string Run => tiny.RunDir;

    private static JsonObject Json(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    private static void Fails(CliResult r, string message)
    {
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.Equal(["loom: " + message], r.StderrLines);
    }

    [Fact]
    public void Training_ends_by_writing_curves_png()
    {
        Assert.True(tiny.Train.ExitCode == 0, tiny.Train.ToString());
        ImageAssert.Png(new RunDirectory(Run).Curves, 1200, 450);
        Assert.DoesNotContain("warning", tiny.Train.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Feature_maps_show_one_block_of_four_14x14_channels_for_the_tiny_model()
    {
        var o = Json(CliRunner.Run("show", Run, "--feature-maps", "7", "--json"));
        var path = Path.Combine(Run, "feature-maps-7.png");
        Assert.Equal(path, (string)o["path"]!);
        var block = Assert.Single(o["blocks"]!.AsArray())!;
        Assert.Equal("layers 0–2: Conv2d → ReLU → MaxPool2d", (string)block["layers"]!);
        Assert.Equal([4, 14, 14], block["shape"]!.AsArray().Select(d => (int)d!));
        ImageAssert.Png(path, (int)o["width"]!, (int)o["height"]!);
    }

    [Fact]
    public void Filters_are_the_first_convolutions_kernels()
    {
        var target = Path.Combine(tiny.Scratch("filters"), "f.png");
        var o = Json(CliRunner.Run("show", Run, "--filters", "-o", target, "--json"));
        Assert.Equal("0", (string)o["layer"]!);
        Assert.Equal([4, 1, 3, 3], o["weight_shape"]!.AsArray().Select(d => (int)d!));
        ImageAssert.Png(target, (int)o["width"]!, (int)o["height"]!);
    }

    [Fact]
    public void Mistakes_found_are_those_eval_implies_and_are_labelled_true_to_predicted()
    {
        var show = Json(CliRunner.Run("show", Run, "--mistakes", "--count", "5", "--json"));
        var eval = Json(CliRunner.Run("eval", Run, "--json"));
        var count = (int)show["test_count"]!;
        Assert.Equal(TinyRun.TestCount, count);
        Assert.Equal((int)Math.Round((1 - (double)eval["test_accuracy"]!) * count), (int)show["mistakes"]!);
        Assert.True((int)show["mistakes"]! > 0, "the tiny model should get some test images wrong");
        var shown = show["shown"]!.AsArray();
        Assert.Equal(Math.Min(5, (int)show["mistakes"]!), shown.Count);
        Assert.All(shown, m => Assert.NotEqual((string)m!["label"]!, (string)m["predicted"]!));
        ImageAssert.Png(Path.Combine(Run, "mistakes.png"), (int)show["width"]!, (int)show["height"]!);

        var text = CliRunner.Run("show", Run, "--mistakes", "--count", "5", "-o", Path.Combine(tiny.Scratch("m"), "m.png"));
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"{show["mistakes"]} mistakes among {count} test images", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_requests_get_one_line_naming_the_problem()
    {
        Fails(CliRunner.Run("show", Run, "--feature-maps", "200"), "show: test image 200 is out of range: digits/test has 200 test images (0..199)");
        Fails(CliRunner.Run("show", Run), "show: choose one of --feature-maps N, --filters, --mistakes");
        Fails(CliRunner.Run("show", Run, "--filters", "--mistakes"), "show: choose only one of --feature-maps N, --filters, --mistakes");

        // A run whose training never finished: config.json but no model.safetensors.
        var unfinished = tiny.Scratch("unfinished");
        File.Copy(Path.Combine(Run, "config.json"), Path.Combine(unfinished, "config.json"));
        Fails(CliRunner.Run("show", unfinished, "--filters"),
            $"run: {unfinished} has no model.safetensors (did training finish? a checkpoint may be resumed with --resume)");

        // A model without convolutions.
        var mlp = tiny.Scratch("mlp");
        var config = TrainConfig.FromJson(File.ReadAllText(Path.Combine(Run, "config.json")), "config.json") with { Model = "flatten linear(10)", ModelSpec = "flatten linear(10)" };
        File.WriteAllText(Path.Combine(mlp, "config.json"), config.ToJson());
        Safetensors.Save(Path.Combine(mlp, "model.safetensors"), new Dictionary<string, Tensor> { ["1.weight"] = Tensor.Zeros(10, 784), ["1.bias"] = Tensor.Zeros(10) });
        Fails(CliRunner.Run("show", mlp, "--filters"), "show: the model has no Conv2d layer (Flatten, Linear); --filters shows the first convolution's kernels");
    }
}
