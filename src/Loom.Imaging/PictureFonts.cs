using SkiaSharp;

namespace Loom.Imaging;

/// <summary>
/// The fonts Loom's pictures use. Skia (and so ScottPlot) reads fonts from <c>/usr/share/fonts</c>; when there are
/// none it draws no text and reports nothing, so callers check <see cref="Available"/> and warn.
/// </summary>
public static class PictureFonts
{
    private static readonly string[] SansCandidates = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans"];

    private static readonly Lazy<SKTypeface?> LazySans = new(FindSans);

    /// <summary>True when a font with Latin letters was found, so labels and titles will show.</summary>
    public static bool Available => Typeface is not null;

    /// <summary>A sans-serif family that is installed (DejaVu Sans on Debian), or null.</summary>
    public static string? SansFamily => Typeface?.FamilyName;

    /// <summary>The typeface for labels in picture grids, or null when no usable font is installed.</summary>
    internal static SKTypeface? Typeface => LazySans.Value;

    /// <summary>What to tell a user when <see cref="Available"/> is false.</summary>
    public const string MissingFontsMessage = "no fonts found under /usr/share/fonts, so the picture has no text (install fonts-dejavu-core)";

    private static SKTypeface? FindSans()
    {
        var manager = SKFontManager.Default;
        foreach (var family in SansCandidates)
        {
            var typeface = manager.MatchFamily(family);
            if (Usable(typeface)) return typeface;
        }
        // Any installed family will do for labels.
        foreach (var family in manager.FontFamilies)
        {
            var typeface = manager.MatchFamily(family);
            if (Usable(typeface)) return typeface;
        }
        return null;
    }

    private static bool Usable(SKTypeface? typeface) => typeface is not null && typeface.GlyphCount > 0 && typeface.ContainsGlyph('A');
}
