using Loom.Data;

namespace Loom.Tests.Reliability;

/// <summary>
/// A small but real training set for out-of-process runs: the first 256 built-in digits for training and 1,000 for
/// testing (so evaluation is a good share of each epoch and a random kill often lands in it), written as IDX files
/// that <c>loom train --data digits --data-dir</c> reads.
/// </summary>
internal static class TinyDigits
{
    /// <summary>A small CNN with dropout (so the dropout RNG state must survive a resume) and a 784×64 layer (so a checkpoint write takes a moment).</summary>
    public const string Model = "conv(4,3,p=1) relu maxpool(2) flatten dropout(0.2) linear(64) relu linear(10)";

    /// <summary>The training images of <see cref="LongRunFolder"/>.</summary>
    public const int LongRunImages = 1024;

    private static readonly Lazy<string> LazyFolder = new(() => Write("kill", 256, 1000));
    private static readonly Lazy<string> LazyLongFolder = new(() => Write("long", LongRunImages, 64));

    /// <summary>256 training and 1,000 test images.</summary>
    public static string Folder => LazyFolder.Value;

    /// <summary>1,024 training and 64 test images: many steps per epoch, little evaluation (resource runs).</summary>
    public static string LongRunFolder => LazyLongFolder.Value;

    /// <summary>The arguments of a tiny real run into <paramref name="runDir"/>.</summary>
    public static string[] TrainArgs(string runDir, int epochs, ulong seed = 3, params string[] extra) =>
    [
        "train", "--data", "digits", "--data-dir", Folder, "--model", Model, "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--batch-size", "16", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", "1", "--out", runDir, .. extra,
    ];

    private static string Write(string name, int train, int test)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"loom-tiny-digits-{name}-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        var digits = Datasets.Digits();
        WriteSplit(digits.Train, train, Path.Combine(folder, Datasets.IdxFileNames[0]), Path.Combine(folder, Datasets.IdxFileNames[1]));
        WriteSplit(digits.Test, test, Path.Combine(folder, Datasets.IdxFileNames[2]), Path.Combine(folder, Datasets.IdxFileNames[3]));
        return folder;
    }

    private static void WriteSplit(ImageDataset split, int count, string imagesPath, string labelsPath)
    {
        var pixels = split.Height * split.Width;
        var images = new byte[count * pixels];
        var source = split.Images;
        for (var i = 0; i < images.Length; i++) images[i] = (byte)Math.Round(Math.Clamp(source[i], 0f, 1f) * 255);
        var labels = new byte[count];
        for (var i = 0; i < count; i++) labels[i] = (byte)split.Labels[i];
        WriteGz(imagesPath, new IdxArray(images, new Shape(count, split.Height, split.Width)));
        WriteGz(labelsPath, new IdxArray(labels, new Shape(count)));
    }

    /// <summary>The digits loader reads the gzipped files, as the built-in set ships them.</summary>
    private static void WriteGz(string path, IdxArray array)
    {
        using var file = File.Create(path + ".gz");
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        Idx.Write(gzip, array);
    }
}
