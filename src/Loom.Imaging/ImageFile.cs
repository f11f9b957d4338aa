using Loom.Training;
using SkiaSharp;

namespace Loom.Imaging;

/// <summary>The picture formats Loom writes, chosen by the file's extension.</summary>
public enum ImageFormatKind
{
    /// <summary>A PNG raster (<c>.png</c>).</summary>
    Png,

    /// <summary>An SVG drawing with real <c>&lt;text&gt;</c> elements (<c>.svg</c>).</summary>
    Svg,
}

/// <summary>Draws onto a Skia canvas and saves the result atomically as PNG or SVG.</summary>
internal static class ImageFile
{
    /// <summary>The format of <paramref name="path"/> by extension; anything but .png/.svg is an error naming the file.</summary>
    public static ImageFormatKind FormatOf(string path, bool allowSvg = true)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".png" => ImageFormatKind.Png,
            ".svg" when allowSvg => ImageFormatKind.Svg,
            _ => throw new LoomException($"{path}: cannot tell the image format from '{(ext.Length == 0 ? "(no extension)" : ext)}'; use .png{(allowSvg ? " or .svg" : "")}"),
        };
    }

    /// <summary>Draws a <paramref name="width"/>×<paramref name="height"/> picture with <paramref name="draw"/> and writes it to <paramref name="path"/>.</summary>
    public static void Write(string path, int width, int height, Action<SKCanvas> draw, bool allowSvg = true)
    {
        if (width <= 0 || height <= 0) throw new LoomException($"{path}: image size {width}×{height} must be positive");
        var format = FormatOf(path, allowSvg);
        AtomicFile.Write(path, stream =>
        {
            if (format == ImageFormatKind.Svg)
            {
                // The SVG canvas writes its document when disposed, before the stream is flushed.
                using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
                draw(canvas);
            }
            else
            {
                using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
                    ?? throw new LoomException($"{path}: could not create a {width}×{height} drawing surface");
                surface.Canvas.Clear(SKColors.White);
                draw(surface.Canvas);
                surface.Canvas.Flush();
                using var image = surface.Snapshot();
                using var data = image.Encode(SKEncodedImageFormat.Png, 100)
                    ?? throw new LoomException($"{path}: PNG encoding failed");
                data.SaveTo(stream);
            }
        });
    }
}
