using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Loom.Tests.Cli;
using Loom.Tests.Data;

namespace Loom.Tests.Imaging;

/// <summary>
/// One tiny run trained through the command line, shared by the picture tests: the first 512 training and 200 test
/// images of the built-in digits (a folder passed with --data-dir), <c>conv(4,3,p=1) relu maxpool(2) flatten
/// linear(10)</c>, one epoch of 16 steps.
/// </summary>
public sealed class TinyRun : IDisposable
{
    public const string Spec = "conv(4,3,p=1) relu maxpool(2) flatten linear(10)";
    public const int TrainCount = 512;
    public const int TestCount = 200;
    private readonly TempDirectory _dir = new();

    public TinyRun()
    {
        DataDir = Path.Combine(_dir.Path, "digits");
        Directory.CreateDirectory(DataDir);
        var source = Path.Combine(CliRunner.RepoRoot, "data", "digits");
        Truncate(source, "train-images-idx3-ubyte", TrainCount);
        Truncate(source, "train-labels-idx1-ubyte", TrainCount);
        Truncate(source, "t10k-images-idx3-ubyte", TestCount);
        Truncate(source, "t10k-labels-idx1-ubyte", TestCount);
        RunDir = Path.Combine(_dir.Path, "tiny");
        Train = CliRunner.Run("train", "--data", "digits", "--data-dir", DataDir, "--model", Spec, "--epochs", "1", "--batch-size", "32",
            "--seed", "1", "--threads", "1", "--out", RunDir, "--json");
        if (Train.ExitCode == 0) TrainJson = JsonNode.Parse(Train.Stdout)!.AsObject();
    }

    /// <summary>The folder of tiny IDX files.</summary>
    public string DataDir { get; }

    /// <summary>The run directory.</summary>
    public string RunDir { get; }

    /// <summary>What <c>loom train</c> printed.</summary>
    internal CliResult Train { get; }

    /// <summary>Its JSON report (null when training failed; tests then show <see cref="Train"/>).</summary>
    public JsonObject? TrainJson { get; }

    /// <summary>A fresh folder for a test's own files.</summary>
    public string Scratch(string name)
    {
        var path = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Copies the first <paramref name="count"/> records of an IDX .gz file, with the header's count adjusted.</summary>
    private void Truncate(string sourceDir, string name, int count)
    {
        byte[] bytes;
        using (var input = new GZipStream(File.OpenRead(Path.Combine(sourceDir, name + ".gz")), CompressionMode.Decompress))
        using (var buffer = new MemoryStream())
        {
            input.CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        var rank = bytes[3];
        var record = 1;
        for (var d = 1; d < rank; d++) record *= BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * d)));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        using var output = new GZipStream(File.Create(Path.Combine(DataDir, name + ".gz")), CompressionLevel.Fastest);
        output.Write(bytes.AsSpan(0, 4 + (4 * rank) + (count * record)));
    }
}

[CollectionDefinition(Name)]
public sealed class TinyRunCollection : ICollectionFixture<TinyRun>
{
    public const string Name = "tiny trained run";
}
