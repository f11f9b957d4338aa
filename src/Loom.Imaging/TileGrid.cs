using SkiaSharp;

namespace Loom.Imaging;

/// <summary>
/// One small picture in a <see cref="TileGrid"/>: <paramref name="Channels"/> planes (1 = grayscale, 3 = RGB) of
/// <paramref name="Height"/>×<paramref name="Width"/> values in [0, 1], planar (C×H×W, as tensors are), with an
/// optional caption drawn under it.
/// </summary>
public sealed record GridTile(float[] Pixels, int Channels, int Height, int Width, string? Caption = null);

/// <summary>A titled group of tiles: one row of the grid, wrapped onto several lines when it has many tiles.</summary>
public sealed record GridSection(string Title, IReadOnlyList<GridTile> Tiles);

/// <summary>
/// Where one section landed in the picture: its number of tiles, tiles per line, lines, the whole-number scale of its
/// tiles, the size of one cell (a scaled tile, widened for its caption and heightened by it) and the section's top.
/// </summary>
public sealed record SectionLayout(string Title, int Tiles, int Columns, int Lines, int Scale, int CellWidth, int CellHeight, int Top);

/// <summary>The size of a written grid and the layout of each section (what tests and reports look at).</summary>
public sealed record GridLayout(int Width, int Height, IReadOnlyList<SectionLayout> Sections);

/// <summary>
/// Lays out sections of image tiles, each under its title, and writes them as one PNG: tiles are scaled up by a whole
/// factor with nearest-neighbour sampling (pixels stay square and sharp) to about <see cref="TargetTileSize"/> pixels,
/// at most <see cref="MaxColumns"/> per line.
/// </summary>
/// <example>
/// <code>
/// var tile = new GridTile(pixels, 1, 28, 28, "7→2");
/// var layout = new TileGrid { MaxColumns = 8 }.Write([new GridSection("mistakes", [tile])], "mistakes.png");
/// </code>
/// </example>
public sealed class TileGrid
{
    private const int Margin = 10;
    private const int Gap = 4;
    private const float TitleSize = 14;
    private const float CaptionSize = 12;

    /// <summary>The most tiles on one line of a section (default 16).</summary>
    public int MaxColumns { get; init; } = 16;

    /// <summary>The on-screen size, in pixels, a tile's longer side is scaled towards (default 48).</summary>
    public int TargetTileSize { get; init; } = 48;

    /// <summary>The whole-number scale for a tile of <paramref name="height"/>×<paramref name="width"/> (at least 1).</summary>
    public int ScaleFor(int height, int width) => Math.Max(1, (int)Math.Round((double)TargetTileSize / Math.Max(height, width)));

    /// <summary>Computes where everything goes without drawing.</summary>
    public GridLayout Layout(IReadOnlyList<GridSection> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        if (MaxColumns <= 0) throw new LoomException($"grid: MaxColumns must be positive, found {MaxColumns}");
        using var titleFont = Font(TitleSize);
        using var captionFont = Font(CaptionSize);
        var layouts = new List<SectionLayout>();
        var width = 0;
        var y = Margin;
        foreach (var section in sections)
        {
            var titleHeight = (int)Math.Ceiling(TitleSize * 1.4);
            var titleWidth = (int)Math.Ceiling(titleFont.MeasureText(section.Title));
            width = Math.Max(width, titleWidth);
            y += titleHeight;
            if (section.Tiles.Count == 0)
            {
                layouts.Add(new SectionLayout(section.Title, 0, 0, 0, 0, 0, 0, y - titleHeight));
                y += Gap * 2;
                continue;
            }
            var first = section.Tiles[0];
            var scale = ScaleFor(first.Height, first.Width);
            var tileW = first.Width * scale;
            var tileH = first.Height * scale;
            var captions = section.Tiles.Any(t => !string.IsNullOrEmpty(t.Caption));
            var captionWidth = captions ? section.Tiles.Max(t => (int)Math.Ceiling(captionFont.MeasureText(t.Caption ?? ""))) + 4 : 0;
            var cellW = Math.Max(tileW, captionWidth);
            var cellH = tileH + (captions ? (int)Math.Ceiling(CaptionSize * 1.4) : 0);
            var columns = Math.Min(MaxColumns, section.Tiles.Count);
            var lines = (section.Tiles.Count + columns - 1) / columns;
            width = Math.Max(width, (columns * cellW) + ((columns - 1) * Gap));
            layouts.Add(new SectionLayout(section.Title, section.Tiles.Count, columns, lines, scale, cellW, cellH, y - titleHeight));
            y += (lines * cellH) + ((lines - 1) * Gap) + (Gap * 3);
        }
        return new GridLayout(width + (2 * Margin), y + Margin - (Gap * 2), layouts);
    }

    /// <summary>Draws <paramref name="sections"/> and writes the PNG to <paramref name="path"/> (atomically).</summary>
    public GridLayout Write(IReadOnlyList<GridSection> sections, string path)
    {
        ArgumentNullException.ThrowIfNull(sections);
        foreach (var section in sections)
            foreach (var tile in section.Tiles) Check(tile, section.Title);
        var layout = Layout(sections);
        ImageFile.Write(path, layout.Width, layout.Height, canvas => Draw(canvas, sections, layout), allowSvg: false);
        return layout;
    }

    private static void Draw(SKCanvas canvas, IReadOnlyList<GridSection> sections, GridLayout layout)
    {
        canvas.Clear(SKColors.White);
        using var titleFont = Font(TitleSize);
        using var captionFont = Font(CaptionSize);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var frame = new SKPaint { Color = new SKColor(0xC8, 0xC8, 0xC8), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        var sampling = new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None);
        for (var s = 0; s < sections.Count; s++)
        {
            var section = sections[s];
            var l = layout.Sections[s];
            var titleHeight = (int)Math.Ceiling(TitleSize * 1.4);
            canvas.DrawText(section.Title, Margin, l.Top + TitleSize, SKTextAlign.Left, titleFont, text);
            var top = l.Top + titleHeight;
            for (var i = 0; i < section.Tiles.Count; i++)
            {
                var tile = section.Tiles[i];
                var col = i % l.Columns;
                var line = i / l.Columns;
                var cellX = Margin + (col * (l.CellWidth + Gap));
                var cellY = top + (line * (l.CellHeight + Gap));
                var w = tile.Width * l.Scale;
                var h = tile.Height * l.Scale;
                var x = cellX + ((l.CellWidth - w) / 2);
                using var image = ToImage(tile);
                var dest = new SKRect(x, cellY, x + w, cellY + h);
                canvas.DrawImage(image, dest, sampling);
                canvas.DrawRect(new SKRect(dest.Left - 0.5f, dest.Top - 0.5f, dest.Right + 0.5f, dest.Bottom + 0.5f), frame);
                if (!string.IsNullOrEmpty(tile.Caption))
                    canvas.DrawText(tile.Caption, cellX + (l.CellWidth / 2f), cellY + h + CaptionSize + 1, SKTextAlign.Center, captionFont, text);
            }
        }
    }

    private static SKImage ToImage(GridTile tile)
    {
        var plane = tile.Height * tile.Width;
        var bytes = new byte[plane * 4];
        for (var p = 0; p < plane; p++)
        {
            var r = tile.Pixels[p];
            var g = tile.Channels == 3 ? tile.Pixels[plane + p] : r;
            var b = tile.Channels == 3 ? tile.Pixels[(2 * plane) + p] : r;
            bytes[(4 * p) + 0] = Byte(r);
            bytes[(4 * p) + 1] = Byte(g);
            bytes[(4 * p) + 2] = Byte(b);
            bytes[(4 * p) + 3] = 255;
        }
        var info = new SKImageInfo(tile.Width, tile.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var data = SKData.CreateCopy(bytes);
        return SKImage.FromPixels(info, data, info.RowBytes) ?? throw new LoomException($"grid: could not make a {tile.Width}×{tile.Height} image");
    }

    private static byte Byte(float v) => float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(MathF.Round(v * 255), 0, 255);

    private static SKFont Font(float size) => new(PictureFonts.Typeface ?? SKTypeface.Default, size);

    private static void Check(GridTile tile, string section)
    {
        if (tile.Channels is not (1 or 3) || tile.Height <= 0 || tile.Width <= 0 || tile.Pixels.Length != tile.Channels * tile.Height * tile.Width)
            throw new LoomException($"grid: a tile of '{section}' has {tile.Pixels.Length} values for {tile.Channels}×{tile.Height}×{tile.Width} (channels must be 1 or 3)");
    }

    /// <summary>Maps <paramref name="values"/> linearly onto [0, 1] (min → 0, max → 1); a constant plane becomes 0.</summary>
    public static float[] MinMax(ReadOnlySpan<float> values)
    {
        var result = new float[values.Length];
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (!(max > min)) return result;
        var range = max - min;
        for (var i = 0; i < values.Length; i++) result[i] = float.IsFinite(values[i]) ? (values[i] - min) / range : 0;
        return result;
    }
}
