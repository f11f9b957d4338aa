using Loom.Data;

namespace Loom.Tests.Data;

public sealed class DatasetsTests : IDisposable
{
    private static readonly Lazy<ImageSplits> DigitsOnce = new(() => Datasets.Digits());
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static ImageSplits Digits => DigitsOnce.Value;

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("no Loom.slnx above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void DigitsHaveTheFixedStratifiedSplit()
    {
        var d = Digits;
        Assert.Equal("digits", d.Name);
        Assert.Equal(8000, d.Train.Count);
        Assert.Equal(2000, d.Test.Count);
        Assert.Equal(new Shape(1, 28, 28), d.Train.ImageShape);
        Assert.Equal(Datasets.DigitClassNames, d.Train.ClassNames);
        Assert.Equal([801, 902, 793, 826, 784, 690, 811, 856, 755, 782], d.Train.ClassCounts());
        Assert.Equal([200, 225, 198, 206, 196, 173, 203, 214, 189, 196], d.Test.ClassCounts());
        // Interleaved order: the first ten images hold one of each digit.
        Assert.Equal([1, 7, 3, 6, 0, 2, 4, 9, 8, 5], d.Train.Labels[..10].ToArray());
        Assert.Equal([1, 7, 3, 6, 0, 2, 4, 9, 8, 5], d.Test.Labels[..10].ToArray());
    }

    [Fact]
    public void DigitsPixelsMatchTheConversionScript()
    {
        // Byte sums computed by python3 from the committed .gz files.
        var d = Digits;
        Assert.Equal(17135, ByteSum(d.Train.Image(0)));
        Assert.Equal(28047, ByteSum(d.Train.Image(7999)));
        Assert.Equal(23232, ByteSum(d.Test.Image(0)));
        Assert.Equal(14654, ByteSum(d.Test.Image(1999)));
        Assert.Equal(209344942L, ByteSum(d.Train.Images));
        Assert.Equal(52801658L, ByteSum(d.Test.Images));
        int[] row14 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 80, 240, 251, 193, 23, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(row14.Select(b => b / 255f), d.Train.Image(0).Slice(14 * 28, 28).ToArray());
        Assert.Equal(0f, d.Train.Images.ToArray().Min());
        Assert.Equal(1f, d.Train.Images.ToArray().Max());
    }

    private static long ByteSum(ReadOnlySpan<float> pixels)
    {
        long sum = 0;
        foreach (var p in pixels) sum += (long)Math.Round(p * 255);
        return sum;
    }

    [Fact]
    public void DigitsAreFoundFromTheRepositoryAndNextToTheAssembly()
    {
        var root = RepoRoot();
        var inRepo = Path.Combine(root, "data", "digits");
        Assert.Equal(Path.GetFullPath(inRepo), Datasets.LocateDigits(root));
        Assert.Equal(Path.GetFullPath(inRepo), Datasets.LocateDigits(inRepo));
        var copied = Path.Combine(AppContext.BaseDirectory, "data", "digits");
        Assert.Equal(Path.GetFullPath(copied), Datasets.LocateDigits(AppContext.BaseDirectory));
        Assert.Equal(8000, Datasets.Digits(AppContext.BaseDirectory).Train.Count);
        Assert.Contains(Datasets.LocateDigits(), new[] { copied, inRepo }.Select(Path.GetFullPath));
    }

    [Fact]
    public void MissingDigitsNameEveryPlaceLookedIn()
    {
        var e = Assert.Throws<LoomException>(() => Datasets.LocateDigits(_dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains(_dir.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir.Path, "data", "digits"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadByName()
    {
        Assert.Equal(8000, Datasets.Load("digits").Train.Count);
        Assert.Equal(2000, Datasets.Load("digits", RepoRoot()).Test.Count);
        var e = Assert.Throws<LoomException>(() => Datasets.Load("cifar"));
        Assert.Contains("digits, fashion-mnist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FashionMnistFromDebian()
    {
        Requirements.DebianPackage(Datasets.FashionMnistPackage, Datasets.FashionMnistDirectory);
        var f = Datasets.FashionMnist();
        Assert.Equal(60000, f.Train.Count);
        Assert.Equal(10000, f.Test.Count);
        Assert.Equal(new Shape(1, 28, 28), f.Train.ImageShape);
        Assert.Equal("Ankle boot", f.Train.ClassNames[9]);
        Assert.All(f.Train.ClassCounts(), n => Assert.Equal(6000, n));
        Assert.All(f.Test.ClassCounts(), n => Assert.Equal(1000, n));
        var norm = f.Train.ComputeNormalization();
        Assert.Equal(0.2860, norm.Mean[0], 3);   // the figures usually quoted for Fashion-MNIST
        Assert.Equal(0.3530, norm.Std[0], 3);
    }

    [Fact]
    public void FashionMnistMissingNamesTheDebianPackage()
    {
        var missing = _dir.File("no-fashion");
        var e = Assert.Throws<LoomException>(() => Datasets.FashionMnist(missing));
        Assert.Contains("dataset-fashion-mnist", e.Message, StringComparison.Ordinal);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", e.Message, StringComparison.Ordinal);
    }

    private void WriteSplit(string prefix, int n, int h, int w, Func<int, int> label, bool gzip = true)
    {
        var pixels = new byte[n * h * w];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 256);
        var ext = gzip ? ".gz" : "";
        Idx.Write(_dir.File($"{prefix}-images-idx3-ubyte{ext}"), new IdxArray(pixels, new Shape(n, h, w)));
        Idx.Write(_dir.File($"{prefix}-labels-idx1-ubyte{ext}"), new IdxArray(Enumerable.Range(0, n).Select(i => (byte)label(i)).ToArray(), new Shape(n)));
    }

    [Fact]
    public void AnyFolderOfIdxFiles()
    {
        WriteSplit("train", 12, 5, 4, i => i % 3);
        WriteSplit("t10k", 6, 5, 4, i => i % 4, gzip: false);
        var data = Datasets.FromIdxDirectory(_dir.Path);
        Assert.Equal(12, data.Train.Count);
        Assert.Equal(6, data.Test.Count);
        Assert.Equal(new Shape(1, 5, 4), data.Test.ImageShape);
        Assert.Equal(["0", "1", "2", "3"], data.Train.ClassNames);
        Assert.Equal(21 / 255f, data.Train.Image(1)[1]);
        Assert.Equal(3, data.Test.Label(3));
    }

    [Fact]
    public void MissingIdxFileIsNamed()
    {
        WriteSplit("train", 4, 2, 2, i => i);
        var e = Assert.Throws<LoomException>(() => Datasets.FromIdxDirectory(_dir.Path));
        Assert.Contains("t10k-images-idx3-ubyte.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains(_dir.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelCountMismatchNamesBothFiles()
    {
        WriteSplit("train", 4, 2, 2, i => i);
        WriteSplit("t10k", 4, 2, 2, i => i);
        Idx.Write(_dir.File("t10k-labels-idx1-ubyte.gz"), new IdxArray(new byte[3], new Shape(3)));
        var e = Assert.Throws<LoomException>(() => Datasets.FromIdxDirectory(_dir.Path));
        Assert.Contains("t10k-labels-idx1-ubyte.gz: 3 labels but", e.Message, StringComparison.Ordinal);
        Assert.Contains("t10k-images-idx3-ubyte.gz holds 4 images", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelBeyondTheClassNamesIsNamed()
    {
        WriteSplit("train", 4, 2, 2, i => i * 4);
        WriteSplit("t10k", 4, 2, 2, i => i);
        var e = Assert.Throws<LoomException>(() => Datasets.FromIdxDirectory(_dir.Path, Datasets.DigitClassNames));
        Assert.Contains("train-labels-idx1-ubyte.gz: label 3 is 12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelsFileWithTheWrongRankIsNamed()
    {
        WriteSplit("train", 4, 2, 2, i => i);
        WriteSplit("t10k", 4, 2, 2, i => i);
        Idx.Write(_dir.File("train-labels-idx1-ubyte.gz"), new IdxArray(new byte[8], new Shape(4, 2)));
        var e = Assert.Throws<LoomException>(() => Datasets.FromIdxDirectory(_dir.Path));
        Assert.Contains("train-labels-idx1-ubyte.gz: labels must have 1 dimension", e.Message, StringComparison.Ordinal);
    }
}
