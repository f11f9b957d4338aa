using System.Buffers;
using SkiaSharp;

namespace Loom.Data;

/// <summary>
/// Decodes one image file with SkiaSharp into RGBA8888 (unpremultiplied, no colour management, the first frame of
/// an animation, EXIF orientation not applied — as Pillow, and so torchvision's <c>ImageFolder</c>), then resizes it
/// with <see cref="ImageFolderResize"/>. The only place in Loom that touches SkiaSharp.
/// </summary>
internal static class ImageFolderDecoder
{
    /// <summary>The largest image decoded, in pixels (2²⁸: 1 GiB of RGBA).</summary>
    internal const long MaxPixels = 1L << 28;

    /// <summary>
    /// Reads <paramref name="path"/> and writes it, resized, into <paramref name="destination"/> (C×H×W in [0, 1]).
    /// Any failure is a <see cref="LoomException"/> naming the file.
    /// </summary>
    internal static unsafe void Load(string path, Span<float> destination, int channels, int height, int width, ImageResize mode)
    {
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

        SKCodec? codec;
        SKCodecResult created;
        var stream = new MemoryStream(bytes, writable: false);
        try
        {
            codec = SKCodec.Create(stream, out created);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            stream.Dispose();
            throw new LoomException($"image-folder: SkiaSharp's native library (libSkiaSharp, package SkiaSharp.NativeAssets.Linux.NoDependencies) " +
                $"could not be loaded to decode {path}: {e.Message}", e);
        }
        if (codec is null)
        {
            stream.Dispose();
            throw new LoomException($"{path}: not a readable image ({(created == SKCodecResult.Unimplemented ? "format not recognised" : Describe(created))}); " +
                $"the file starts with {FirstBytes(bytes)}. Supported: PNG, JPEG, BMP, WEBP, GIF");
        }
        using (codec)
        {
            var (w, h) = (codec.Info.Width, codec.Info.Height);
            if (w <= 0 || h <= 0) throw new LoomException($"{path}: the image is {w}×{h} pixels");
            if ((long)w * h > MaxPixels) throw new LoomException($"{path}: the image is {w}×{h} pixels, over the limit of {MaxPixels} pixels");
            var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var length = w * h * 4;
            var pixels = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                SKCodecResult decoded;
                fixed (byte* p = pixels) decoded = codec.GetPixels(info, (IntPtr)p);
                if (decoded != SKCodecResult.Success)
                    throw new LoomException($"{path}: the {codec.EncodedFormat} image ({w}×{h}) cannot be decoded: {Describe(decoded)}");
                ImageFolderResize.Resize(pixels.AsSpan(0, length), w, h, destination, channels, height, width, mode);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(pixels);
            }
        }
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "it is truncated",
        SKCodecResult.ErrorInInput => "its data is corrupt",
        SKCodecResult.InvalidInput => "its data is invalid",
        SKCodecResult.Unimplemented => "an encoding SkiaSharp does not support",
        SKCodecResult.InvalidConversion => "its pixels cannot be converted to RGBA",
        SKCodecResult.CouldNotRewind or SKCodecResult.InternalError or SKCodecResult.InvalidParameters or SKCodecResult.InvalidScale =>
            $"SkiaSharp reports {result}",
        _ => "unknown or unsupported format",
    };

    private static string FirstBytes(byte[] bytes) =>
        string.Join(" ", bytes.Take(8).Select(b => b.ToString("X2")));
}
