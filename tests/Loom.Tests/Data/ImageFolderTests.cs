using Loom.Data;
using SkiaSharp;

namespace Loom.Tests.Data;

/// <summary>Writes small test images with SkiaSharp.</summary>
internal static class TestImages
{
    public static void Write(string path, int width, int height, Func<int, int, SKColor> color,
        SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++) bitmap.SetPixel(x, y, color(x, y));
        }
        using var data = bitmap.Encode(format, 100) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}");
        File.WriteAllBytes(path, data.ToArray());
    }

    public static void Solid(string path, int width, int height, SKColor color,
        SKEncodedImageFormat format = SKEncodedImageFormat.Png) => Write(path, width, height, (_, _) => color, format);

    /// <summary>A gray image whose level identifies it.</summary>
    public static void Gray(string path, byte level, int width = 6, int height = 5) =>
        Solid(path, width, height, new SKColor(level, level, level));
}

public sealed class ImageFolderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string P(params string[] parts) => Path.Combine([_dir.Path, .. parts]);

    private static readonly ImageFolderOptions Small = new() { Height = 4, Width = 4 };

    [Fact]
    public void SplitLayoutLoadsTrainAndTestWithSortedClasses()
    {
        // Classes sort ordinally: "Zebra" < "ant" < "bee"; sizes differ per file.
        TestImages.Solid(P("train", "bee", "b1.png"), 12, 7, SKColors.Yellow);
        TestImages.Solid(P("train", "ant", "a2.png"), 5, 9, SKColors.Red);
        TestImages.Solid(P("train", "ant", "a1.png"), 20, 20, SKColors.Red);
        TestImages.Solid(P("train", "Zebra", "z.png"), 3, 3, SKColors.White);
        TestImages.Solid(P("test", "bee", "t.png"), 8, 8, SKColors.Yellow);
        TestImages.Solid(P("test", "ant", "t.png"), 8, 8, SKColors.Red);
        TestImages.Solid(P("test", "Zebra", "t.png"), 8, 8, SKColors.White);
        File.WriteAllText(P("train", "ant", "notes.txt"), "not an image");

        var data = ImageFolder.Load(_dir.Path, Small);

        Assert.Equal(Path.GetFileName(_dir.Path), data.Name);
        Assert.Equal(["Zebra", "ant", "bee"], data.Train.ClassNames);
        Assert.Equal(4, data.Train.Count);
        Assert.Equal(3, data.Test.Count);
        Assert.Equal(new Shape(3, 4, 4), data.Train.ImageShape);
        Assert.Equal([0, 1, 1, 2], data.Train.Labels.ToArray());
        Assert.Equal([0, 1, 2], data.Test.Labels.ToArray());
        Assert.EndsWith("/train", data.Train.Name, StringComparison.Ordinal);
        Assert.Null(data.Train.Normalization);
        // Yellow = R 1, G 1, B 0 after any resize.
        var bee = data.Train.Image(3);
        Assert.All(bee[..16].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bee[16..32].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bee[32..].ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ValFolderServesAsTheTestSplit()
    {
        TestImages.Solid(P("train", "a", "1.png"), 4, 4, SKColors.Red);
        TestImages.Solid(P("train", "b", "1.png"), 4, 4, SKColors.Blue);
        TestImages.Solid(P("val", "a", "1.png"), 4, 4, SKColors.Red);
        TestImages.Solid(P("val", "b", "1.png"), 4, 4, SKColors.Blue);
        var data = ImageFolder.Load(_dir.Path, Small);
        Assert.Equal(2, data.Test.Count);
    }

    [Theory]
    [InlineData(10, 10, 4, 4)]
    [InlineData(10, 10, 16, 24)]
    [InlineData(7, 13, 10, 10)]
    public void SolidRedIsExactlyRedAfterResizing(int width, int height, int outHeight, int outWidth)
    {
        var path = P("red.png");
        TestImages.Solid(path, width, height, SKColors.Red);
        var pixels = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = outHeight, Width = outWidth });
        var plane = outHeight * outWidth;
        Assert.Equal(3 * plane, pixels.Length);
        Assert.All(pixels[..plane], v => Assert.Equal(1f, v));
        Assert.All(pixels[plane..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void GrayscaleIsTheLumaOfRgb()
    {
        var path = P("c.png");
        TestImages.Solid(path, 3, 3, new SKColor(255, 0, 0));
        var red = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 2, Width = 2, Grayscale = true });
        Assert.Equal(4, red.Length);
        Assert.All(red, v => Assert.Equal(0.299f, v, 6));
        TestImages.Solid(path, 3, 3, new SKColor(10, 200, 30));
        var mixed = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 2, Width = 2, Grayscale = true });
        Assert.All(mixed, v => Assert.Equal(((0.299 * 10) + (0.587 * 200) + (0.114 * 30)) / 255, v, 6));
    }

    [Fact]
    public void ShrinkingAveragesWithPillowsBilinearWeights()
    {
        // Columns 0, 255, 0, 255 shrunk to 2: Pillow's triangle of support 2 centred at 1.0 and 3.0 takes
        // taps 0..2 with weights .75, .75, .25 and taps 1..3 with .25, .75, .75 (normalised by 1.75);
        // Pillow itself gives 109 and 146 of 255.
        var path = P("stripes.png");
        TestImages.Write(path, 4, 1, (x, _) => x % 2 == 1 ? SKColors.White : SKColors.Black);
        var pixels = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 1, Width = 2, Grayscale = true });
        Assert.Equal(0.75 / 1.75, pixels[0], 6);
        Assert.Equal(1.0 / 1.75, pixels[1], 6);
    }

    [Fact]
    public void UpsamplingInterpolatesBetweenPixelCentres()
    {
        // 2 pixels (0 and 255) to 4: output centres at 0.25, 0.75, 1.25, 1.75 in source pixels, so
        // values 0, 0.25, 0.75, 1 (edges clamp), as Pillow's BILINEAR.
        var path = P("two.png");
        TestImages.Write(path, 2, 1, (x, _) => x == 1 ? SKColors.White : SKColors.Black);
        var pixels = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 1, Width = 4, Grayscale = true });
        Assert.Equal([0f, 0.25f, 0.75f, 1f], pixels);
    }

    [Fact]
    public void CenterCropKeepsTheMiddleAtTheRightAspect()
    {
        // 20×10: red columns 0..4, green 5..14, blue 15..19. A 10×10 centre crop sees only green;
        // stretching mixes all three.
        var path = P("bands.png");
        TestImages.Write(path, 20, 10, (x, _) => x < 5 ? SKColors.Red : x < 15 ? SKColors.Lime : SKColors.Blue);
        var crop = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 10, Width = 10, Resize = ImageResize.CenterCrop });
        Assert.All(crop[..100], v => Assert.Equal(0f, v));
        Assert.All(crop[100..200], v => Assert.Equal(1f, v));
        Assert.All(crop[200..], v => Assert.Equal(0f, v));
        var stretch = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 10, Width = 10 });
        Assert.Equal(1f, stretch[0]);     // red at the left edge
        Assert.Equal(1f, stretch[200 + 9]); // blue at the right edge
    }

    [Fact]
    public void PadFitsTheWholeImageBetweenBlackBorders()
    {
        // 20×10 solid red into 10×10: scaled by 1/2 to 10×5, rows 0..1 and 7..9 black (the odd extra row at the
        // bottom), rows 2..6 red; nothing of the picture is cut. A 10×20 tall image gets the borders left and right.
        var wide = P("wide.png");
        TestImages.Solid(wide, 20, 10, SKColors.Red);
        var pad = ImageFolder.LoadImage(wide, new ImageFolderOptions { Height = 10, Width = 10, Resize = ImageResize.Pad });
        for (var y = 0; y < 10; y++)
        {
            var expected = y is >= 2 and < 7 ? 1f : 0f;
            Assert.All(pad.AsSpan(y * 10, 10).ToArray(), v => Assert.Equal(expected, v));
        }
        Assert.All(pad[100..], v => Assert.Equal(0f, v)); // no green, no blue anywhere

        var tall = P("tall.png");
        TestImages.Solid(tall, 10, 20, SKColors.White);
        var gray = ImageFolder.LoadImage(tall, new ImageFolderOptions { Height = 4, Width = 4, Resize = ImageResize.Pad, Grayscale = true });
        Assert.Equal([0f, 1f, 1f, 0f, 0f, 1f, 1f, 0f, 0f, 1f, 1f, 0f, 0f, 1f, 1f, 0f], gray);
    }

    [Fact]
    public void ResizeModesAndSizesParseAndBadOnesAreNamed()
    {
        Assert.Equal(ImageResize.Stretch, ImageResizes.Parse("stretch"));
        Assert.Equal(ImageResize.CenterCrop, ImageResizes.Parse("Centre-Crop"));
        Assert.Equal(ImageResize.Pad, ImageResizes.Parse("pad"));
        Assert.Equal(["stretch", "center-crop", "pad"], Enum.GetValues<ImageResize>().Select(ImageResizes.Name));
        Assert.Equal("--resize: unknown mode 'squash'; known: stretch, center-crop, pad",
            Assert.Throws<LoomException>(() => ImageResizes.Parse("squash")).Message);
        Assert.Equal((64, 48), ImageResizes.ParseSize("64x48"));
        Assert.Equal((64, 48), ImageResizes.ParseSize("64×48"));
        Assert.Equal((28, 28), ImageResizes.ParseSize("28"));
        foreach (var bad in new[] { "", "x", "0x4", "4x-4", "4x4x4", "big" })
        {
            Assert.Equal($"--image-size: expected HxW such as 64x64 (or one number for a square), found '{bad}'",
                Assert.Throws<LoomException>(() => ImageResizes.ParseSize(bad)).Message);
        }
    }

    [Fact]
    public void JpegAndWebpDecode()
    {
        TestImages.Solid(P("a.jpg"), 16, 16, new SKColor(200, 40, 90), SKEncodedImageFormat.Jpeg);
        TestImages.Solid(P("b.webp"), 16, 16, new SKColor(200, 40, 90), SKEncodedImageFormat.Webp);
        foreach (var file in new[] { "a.jpg", "b.webp" })
        {
            var pixels = ImageFolder.LoadImage(P(file), Small);
            Assert.Equal(200 / 255.0, pixels[0], 0.02);
            Assert.Equal(40 / 255.0, pixels[16], 0.02);
            Assert.Equal(90 / 255.0, pixels[32], 0.02);
        }
    }

    [Fact]
    public void AlphaIsDroppedNotPremultiplied()
    {
        var path = P("half.png");
        TestImages.Solid(path, 4, 4, new SKColor(255, 0, 0, 128));
        var pixels = ImageFolder.LoadImage(path, Small);
        Assert.Equal(1f, pixels[0]);
    }

    private void WriteFlat(int perClassA, int perClassB)
    {
        for (var i = 0; i < perClassA; i++) TestImages.Gray(P("a", $"{i:D2}.png"), (byte)i);
        for (var i = 0; i < perClassB; i++) TestImages.Gray(P("b", $"{i:D2}.png"), (byte)(100 + i));
    }

    private static int[] Levels(ImageDataset d)
    {
        var levels = new int[d.Count];
        for (var i = 0; i < d.Count; i++) levels[i] = (int)Math.Round(d.Image(i)[0] * 255);
        return levels;
    }

    [Fact]
    public void StratifiedSplitIsSeededAndKeepsClassProportions()
    {
        WriteFlat(10, 5);
        var options = Small with { TestFraction = 0.2, Seed = 7 };
        var first = ImageFolder.Load(_dir.Path, options);
        var again = ImageFolder.Load(_dir.Path, options with { MaxDegreeOfParallelism = 1 });
        Assert.Equal([8, 4], first.Train.ClassCounts());
        Assert.Equal([2, 1], first.Test.ClassCounts());
        Assert.Equal(Levels(first.Test), Levels(again.Test));
        Assert.Equal(first.Train.Images.ToArray(), again.Train.Images.ToArray());
        // Train and test are disjoint, cover every file, and keep file order.
        var all = Levels(first.Train).Concat(Levels(first.Test)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(100, 5)).ToArray(), all);
        Assert.True(Levels(first.Train).SequenceEqual(Levels(first.Train).Order()));

        // The split is the documented one: the first round(n·f) of each class's shuffle.
        var (train, test) = ImageFolder.StratifiedSplit([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 2, 0.2, 7);
        Assert.Equal(test.Select(i => i < 10 ? i : 100 + i - 10), Levels(first.Test));
        Assert.Equal(15, train.Length + test.Length);

        var seeds = Enumerable.Range(0, 8).Select(s => string.Join(",", ImageFolder.StratifiedSplit(
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 2, 0.2, (ulong)s).Test)).Distinct().Count();
        Assert.True(seeds > 1, "different seeds draw different splits");
    }

    [Fact]
    public void SplitOfTinyClassesKeepsOneForTraining()
    {
        var (train, test) = ImageFolder.StratifiedSplit([0, 0, 1, 2, 2, 2], 3, 0.9, 1);
        Assert.Equal(3, test.Length);  // one of class 0 (n−1), none of the single class 1, two of class 2
        Assert.Contains(2, train);
    }

    [Fact]
    public void DatasetsLoadReadsAnImageFolder()
    {
        WriteFlat(3, 3);
        var data = Datasets.Load("image-folder", _dir.Path, new ImageFolderOptions { Height = 8, Width = 8, Grayscale = true });
        Assert.Equal(new Shape(1, 8, 8), data.Train.ImageShape);
        Assert.Equal(6, data.Train.Count + data.Test.Count);
        Assert.Contains("image-folder", Datasets.Names);
        var e = Assert.Throws<LoomException>(() => Datasets.Load("image-folder"));
        Assert.Contains("--data-dir", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingRootIsNamed()
    {
        var missing = P("nowhere");
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(missing));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoClassFoldersIsNamed()
    {
        TestImages.Gray(P("loose.png"), 1);
        Directory.CreateDirectory(P(".hidden"));
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains(_dir.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains("no class folders", e.Message, StringComparison.Ordinal);
        Assert.Contains("1 image file(s) directly", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OneClassIsNotEnoughAndTrainWithoutTestIsExplained()
    {
        TestImages.Gray(P("train", "a", "1.png"), 1);
        TestImages.Gray(P("train", "b", "1.png"), 1);
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains("one class folder (train)", e.Message, StringComparison.Ordinal);
        Assert.Contains("test/ or val/", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyClassFolderIsNamed()
    {
        TestImages.Gray(P("a", "1.png"), 1);
        Directory.CreateDirectory(P("b"));
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains(P("b"), e.Message, StringComparison.Ordinal);
        Assert.Contains("has no images", e.Message, StringComparison.Ordinal);

        File.WriteAllText(P("b", "readme.txt"), "x");
        e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains("other extensions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptImageIsNamed()
    {
        WriteFlat(3, 3);
        var bad = P("b", "01.png");
        File.WriteAllText(bad, "this is not a PNG");
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        Assert.Contains("not a readable image", e.Message, StringComparison.Ordinal);
        Assert.Contains("74 68 69 73", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedImageIsNamed()
    {
        var good = P("big.png");
        TestImages.Write(good, 64, 64, (x, y) => new SKColor((byte)(x * 4), (byte)(y * 4), (byte)(x ^ y)));
        var bytes = File.ReadAllBytes(good);
        WriteFlat(2, 2);
        var bad = P("a", "cut.png");
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFileIsNamed()
    {
        WriteFlat(2, 2);
        var bad = P("a", "zero.jpg");
        File.WriteAllBytes(bad, []);
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFirstBadFileIsReportedWhateverTheScheduling()
    {
        WriteFlat(6, 6);
        File.WriteAllText(P("a", "03.png"), "bad");
        File.WriteAllText(P("b", "04.png"), "bad");
        for (var run = 0; run < 5; run++)
        {
            var e = Assert.Throws<LoomException>(() => ImageFolder.LoadFolder(_dir.Path, Small));
            Assert.StartsWith(P("a", "03.png"), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void DifferentTrainAndTestClassesAreNamed()
    {
        TestImages.Gray(P("train", "cat", "1.png"), 1);
        TestImages.Gray(P("train", "dog", "1.png"), 1);
        TestImages.Gray(P("test", "cat", "1.png"), 1);
        TestImages.Gray(P("test", "cow", "1.png"), 1);
        var e = Assert.Throws<LoomException>(() => ImageFolder.Load(_dir.Path, Small));
        Assert.Contains("lacks dog", e.Message, StringComparison.Ordinal);
        Assert.Contains("has cow", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptionsAreNamed()
    {
        WriteFlat(2, 2);
        Assert.Contains("test fraction", Assert.Throws<LoomException>(() =>
            ImageFolder.Load(_dir.Path, Small with { TestFraction = 1 })).Message, StringComparison.Ordinal);
        Assert.Contains("0×4", Assert.Throws<LoomException>(() =>
            ImageFolder.Load(_dir.Path, Small with { Height = 0 })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HiddenFilesAndNestedFoldersAreHandled()
    {
        TestImages.Gray(P("a", "1.png"), 1);
        TestImages.Gray(P("a", "sub", "2.png"), 2);
        TestImages.Gray(P("a", ".thumb.png"), 3);
        TestImages.Gray(P("b", "1.PNG"), 4);
        TestImages.Gray(P(".ipynb_checkpoints", "x.png"), 5);
        var index = ImageFolder.Scan(_dir.Path);
        Assert.Equal(["a", "b"], index.ClassNames);
        Assert.Equal([P("a", "1.png"), P("a", "sub", "2.png"), P("b", "1.PNG")], index.Paths);
        Assert.Equal([0, 0, 1], index.Labels);
    }
}
