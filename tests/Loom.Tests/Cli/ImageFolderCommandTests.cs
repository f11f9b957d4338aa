using System.Text.Json.Nodes;
using Loom.Tests.Data;
using SkiaSharp;

namespace Loom.Tests.Cli;

/// <summary>
/// <c>loom train --data image-folder</c> and <c>loom eval</c> out of process, on PNGs this test writes: two classes of
/// colour photos of assorted sizes and aspect ratios.
/// </summary>
public sealed class ImageFolderCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Warm (red-heavy) and cool (blue-heavy) noisy photos, 10 of each, 6..29 pixels a side.</summary>
    private string WritePhotos(string name)
    {
        var root = Path.Combine(_dir.Path, name);
        var g = new Generator(5);
        foreach (var (cls, warm) in new[] { ("cool", false), ("warm", true) })
        {
            for (var i = 0; i < 10; i++)
            {
                var (w, h) = (6 + g.NextInt(24), 6 + g.NextInt(24));
                var noise = new Generator(g.NextUInt64());
                TestImages.Write(Path.Combine(root, cls, $"{i}.png"), w, h, (_, _) =>
                {
                    var hot = (byte)(150 + noise.NextInt(100));
                    var cold = (byte)noise.NextInt(110);
                    var mid = (byte)noise.NextInt(256);
                    return warm ? new SKColor(hot, mid, cold) : new SKColor(cold, mid, hot);
                });
            }
        }
        return root;
    }

    private static JsonObject Json(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    [Fact]
    public void Trains_on_the_folder_records_the_image_settings_and_eval_reuses_them()
    {
        var photos = WritePhotos("photos");
        var run = Path.Combine(_dir.Path, "run");
        var trained = Json(CliRunner.Run("train", "--data", "image-folder", "--data-dir", photos, "--image-size", "6x8", "--resize", "pad",
            "--model", "flatten linear(2)", "--epochs", "6", "--batch-size", "4", "--lr", "0.05", "--seed", "2", "--threads", "1", "--out", run, "--json"));
        Assert.True((double)trained["test_accuracy"]! >= 0.75, trained.ToJsonString());

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!.AsObject();
        Assert.Equal([6, 8], config["image_size"]!.AsArray().Select(v => (int)v!));
        Assert.False((bool)config["grayscale"]!);
        Assert.Equal("pad", (string)config["resize"]!);
        Assert.Equal([3, 6, 8], config["input_shape"]!.AsArray().Select(v => (int)v!));
        Assert.Equal(["cool", "warm"], config["class_names"]!.AsArray().Select(v => (string)v!));

        // eval reads the same folder with the recorded size and mode: the same test set, the same figures.
        var evaluated = Json(CliRunner.Run("eval", run, "--json"));
        Assert.Equal((double)trained["test_accuracy"]!, (double)evaluated["test_accuracy"]!);
        Assert.Equal((double)trained["test_loss"]!, (double)evaluated["test_loss"]!, 6);
        Assert.Equal(4, (int)evaluated["samples"]!);
    }

    [Fact]
    public void Defaults_are_recorded_and_grayscale_gives_one_channel()
    {
        var photos = WritePhotos("gray");
        var run = Path.Combine(_dir.Path, "gray-run");
        Json(CliRunner.Run("train", "--data", "image-folder", "--data-dir", photos, "--grayscale", "--size", "5",
            "--model", "flatten linear(2)", "--epochs", "1", "--batch-size", "8", "--threads", "1", "--out", run, "--json"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!.AsObject();
        Assert.Equal([1, 5, 5], config["input_shape"]!.AsArray().Select(v => (int)v!));
        Assert.True((bool)config["grayscale"]!);
        Assert.Equal("stretch", (string)config["resize"]!);

        // Image settings on other data are an error, not silently ignored; digits configs carry none.
        var r = CliRunner.Run("train", "--data", "digits", "--resize", "pad", "--out", Path.Combine(_dir.Path, "never"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal(["loom: --image-size, --grayscale and --resize apply to --data image-folder, not to --data digits"], r.StderrLines);
    }

    [Fact]
    public void A_folder_without_classes_or_with_an_unreadable_image_is_named_in_one_line()
    {
        var empty = Path.Combine(_dir.Path, "empty");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "readme.txt"), "no classes here");
        var r = CliRunner.Run("train", "--data", "image-folder", "--data-dir", empty, "--out", Path.Combine(_dir.Path, "r1"));
        Assert.True(r.ExitCode == 1, r.ToString());
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith($"loom: image-folder: {empty} has no class folders", line, StringComparison.Ordinal);

        var photos = WritePhotos("broken");
        var bad = Path.Combine(photos, "warm", "3.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);
        r = CliRunner.Run("train", "--data", "image-folder", "--data-dir", photos, "--out", Path.Combine(_dir.Path, "r2"));
        Assert.True(r.ExitCode == 1, r.ToString());
        line = Assert.Single(r.StderrLines);
        Assert.StartsWith($"loom: {bad}: ", line, StringComparison.Ordinal);

        r = CliRunner.Run("train", "--data", "image-folder", "--data-dir", photos, "--image-size", "0x9", "--out", Path.Combine(_dir.Path, "r3"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal(["loom: --image-size: expected HxW such as 64x64 (or one number for a square), found '0x9'"], r.StderrLines);
    }
}
