using Loom.Data;
using SkiaSharp;

namespace Loom.Imaging;

/// <summary>
/// Decodes image files with SkiaSharp into RGBA8888 (unpremultiplied, no colour management, the first frame of an
/// animation, EXIF orientation not applied — as Pillow, and so torchvision's <c>ImageFolder</c>). Register it once
/// with <see cref="Register"/> so <c>Datasets.Load("image-folder", …)</c> can read PNG, JPEG, BMP, WEBP and GIF.
/// </summary>
public sealed class SkiaImageDecoder : IImageDecoder
{
    /// <summary>Makes this decoder the one image folders use.</summary>
    public static void Register() => ImageDecoders.Current ??= new SkiaImageDecoder();

    /// <inheritdoc/>
    public unsafe byte[] Decode(string path, byte[] bytes, out int width, out int height)
    {
        SKCodec? codec;
        SKCodecResult created;
        // A native memory stream, not a managed one: Skia reads a managed stream through callbacks, and a fuzzed
        // file made SKManagedStream throw inside such a callback, which no catch can reach (the process aborted).
        var stream = new SKMemoryStream(bytes);
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
            if ((long)w * h > ImageDecoders.MaxPixels) throw new LoomException($"{path}: the image is {w}×{h} pixels, over the limit of {ImageDecoders.MaxPixels} pixels");
            // The header's size drives the allocation below: a 58-byte BMP claiming 16384×16384 made the fuzzer
            // allocate 1 GiB per case. Real images, even blank ones, do not compress beyond ~1,032:1 (deflate's limit),
            // so past a 64 MiB floor the decoded size may be at most 8,192 times the file's.
            var decodedBytes = (long)w * h * 4;
            if (decodedBytes > Math.Max(64L << 20, 8192L * bytes.Length))
                throw new LoomException($"{path}: the header claims {w}×{h} pixels ({decodedBytes >> 20} MiB decoded) from a {bytes.Length}-byte file; " +
                    "no real image compresses that far, so the file is corrupt");
            var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var pixels = new byte[w * h * 4];
            SKCodecResult decoded;
            fixed (byte* p = pixels) decoded = codec.GetPixels(info, (IntPtr)p);
            if (decoded != SKCodecResult.Success)
                throw new LoomException($"{path}: the {codec.EncodedFormat} image ({w}×{h}) cannot be decoded: {Describe(decoded)}");
            width = w;
            height = h;
            return pixels;
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
