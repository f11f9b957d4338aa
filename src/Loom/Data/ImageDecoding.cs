namespace Loom.Data;

/// <summary>
/// Decodes one image file into 8-bit RGBA (unpremultiplied, row-major). The core library reads and resizes images
/// but does not decode them itself: that needs a native codec, which lives outside it (Loom.Imaging's
/// <c>SkiaImageDecoder</c>, registered by the <c>loom</c> command line).
/// </summary>
public interface IImageDecoder
{
    /// <summary>
    /// Decodes <paramref name="bytes"/> (the file at <paramref name="path"/>, for messages) into
    /// <paramref name="width"/>·<paramref name="height"/>·4 RGBA bytes. Failures are <see cref="LoomException"/>s naming the file.
    /// </summary>
    byte[] Decode(string path, byte[] bytes, out int width, out int height);
}

/// <summary>The decoder the image-folder dataset uses.</summary>
public static class ImageDecoders
{
    /// <summary>The largest image decoded, in pixels (2²⁸: 1 GiB of RGBA); decoders refuse larger ones before allocating.</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>The registered decoder, or null when none is (then image folders cannot be read).</summary>
    public static IImageDecoder? Current { get; set; }

    /// <summary>Reads <paramref name="path"/> and writes it, resized, into <paramref name="destination"/> (C×H×W in [0, 1]).</summary>
    internal static void Load(string path, Span<float> destination, int channels, int height, int width, ImageResize mode)
    {
        var decoder = Current ?? throw new LoomException(
            $"image-folder: no image decoder is registered to read {path}; reference Loom.Imaging and call SkiaImageDecoder.Register() (the loom command line does)");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"{path}: cannot be read: {e.Message}", e);
        }
        if (bytes.Length == 0) throw new LoomException($"{path}: the file is empty, not an image");
        var rgba = decoder.Decode(path, bytes, out var w, out var h);
        if (w <= 0 || h <= 0 || (long)w * h > MaxPixels || rgba.Length < (long)w * h * 4)
            throw new LoomException($"{path}: the decoder returned a {w}×{h} image with {rgba.Length} bytes");
        ImageFolderResize.Resize(rgba.AsSpan(0, w * h * 4), w, h, destination, channels, height, width, mode);
    }
}
