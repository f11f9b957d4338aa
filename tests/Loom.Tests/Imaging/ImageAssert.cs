using System.Text.RegularExpressions;
using SkiaSharp;

namespace Loom.Tests.Imaging;

/// <summary>Checks on written pictures: a real PNG of the expected size, the texts of an SVG.</summary>
internal static partial class ImageAssert
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The file starts with PNG's signature and decodes with SkiaSharp; returns the decoded bitmap.</summary>
    public static SKBitmap Png(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(PngSignature), $"{path} does not start with the PNG signature");
        var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        return bitmap;
    }

    /// <summary>A real PNG of <paramref name="width"/>×<paramref name="height"/> that is not blank.</summary>
    public static SKBitmap Png(string path, int width, int height)
    {
        var bitmap = Png(path);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        var colours = new HashSet<SKColor>();
        for (var y = 0; y < bitmap.Height; y += 3)
            for (var x = 0; x < bitmap.Width; x += 3) colours.Add(bitmap.GetPixel(x, y));
        Assert.True(colours.Count > 2, $"{path} has {colours.Count} colours: it looks blank");
        return bitmap;
    }

    /// <summary>The trimmed contents of every <c>&lt;text&gt;</c> element of an SVG file.</summary>
    public static List<string> SvgTexts(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        var svg = File.ReadAllText(path);
        Assert.StartsWith("<?xml", svg, StringComparison.Ordinal);
        Assert.Contains("<svg", svg, StringComparison.Ordinal);
        return [.. TextElement().Matches(svg).Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value).Trim())];
    }

    [GeneratedRegex(@"<text[^>]*>([^<]*)</text>")]
    private static partial Regex TextElement();
}
