using System.IO.Compression;
using Loom.Tests.Cli;
using Loom.Tests.Data;

namespace Loom.Tests.Reliability;

/// <summary>
/// The acceptance cases of hostile files on the real command line: a truncated IDX file, a corrupt safetensors
/// header and a spec with an unknown layer each give one line naming the file or the position, exit 1, no trace.
/// </summary>
public sealed class HostileFileCliTests
{
    private static string OnlyLine(CliResult result)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        return Assert.Single(result.StderrLines, l => l.StartsWith("loom: ", StringComparison.Ordinal));
    }

    [Fact]
    public void ATruncatedIdxFileNamesTheFile()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(TinyDigits.LongRunFolder)) File.Copy(file, dir.File(Path.GetFileName(file)));
        var images = dir.File("train-images-idx3-ubyte.gz");
        // A whole gzip stream whose IDX content stops after 5,000 bytes (the header promises 1,024 images).
        byte[] raw;
        using (var gz = new GZipStream(File.OpenRead(images), CompressionMode.Decompress))
        using (var buffer = new MemoryStream())
        {
            gz.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        using (var output = new GZipStream(File.Create(images), CompressionLevel.Fastest)) output.Write(raw, 0, 5000);
        var line = OnlyLine(CliRunner.Run("train", "--data", "digits", "--data-dir", dir.Path, "--out", dir.File("run")));
        Assert.Equal($"loom: {images}: header declares 1024×28×28 = 802816 bytes of data but the file holds 4984: it is truncated", line);
        Assert.False(Directory.Exists(dir.File("run")), "a run that never started leaves no directory");
    }

    [Fact]
    public void ACorruptSafetensorsHeaderNamesTheFile()
    {
        using var dir = new TempDirectory();
        var run = dir.File("run");
        var trained = CliRunner.Run(TinyDigits.TrainArgs(run, 1));
        Assert.True(trained.ExitCode == 0, trained.ToString());
        var model = Path.Combine(run, "model.safetensors");
        var bytes = File.ReadAllBytes(model);
        bytes[9] = (byte)'['; // the JSON header's first key now starts with a bracket: not valid JSON
        File.WriteAllBytes(model, bytes);
        var line = OnlyLine(CliRunner.Run("eval", run));
        Assert.StartsWith($"loom: safetensors: {model}: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownLayerNamesItsPosition()
    {
        var line = OnlyLine(CliRunner.Run("summary", "conv(4,3) frob linear(10)", "--input", "1x28x28"));
        Assert.StartsWith("loom: spec: unknown layer 'frob' at position 11 ", line, StringComparison.Ordinal);
    }
}
