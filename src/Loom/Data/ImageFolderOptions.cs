namespace Loom.Data;

/// <summary>How an image of another shape is fitted to the output size.</summary>
public enum ImageResize
{
    /// <summary>Scale width and height independently to the output size (the aspect ratio may change).</summary>
    Stretch,

    /// <summary>Keep the aspect ratio: scale until the image covers the output, then cut the centre
    /// (torchvision's <c>Resize(min(H, W))</c> then <c>CenterCrop((H, W))</c>).</summary>
    CenterCrop,

    /// <summary>Keep the aspect ratio: scale until the whole image fits inside the output, centre it, and fill the
    /// borders with black (0) — nothing of the picture is cut or distorted (a letterbox).</summary>
    Pad,
}

/// <summary>The names of <see cref="ImageResize"/> modes as the command line and <c>config.json</c> spell them.</summary>
public static class ImageResizes
{
    /// <summary>The names accepted: <c>stretch</c>, <c>center-crop</c> (or <c>centre-crop</c>, <c>crop</c>), <c>pad</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["stretch", "center-crop", "pad"];

    /// <summary>The canonical name of <paramref name="mode"/>.</summary>
    public static string Name(ImageResize mode) => mode switch
    {
        ImageResize.Stretch => "stretch",
        ImageResize.CenterCrop => "center-crop",
        ImageResize.Pad => "pad",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>Parses a mode name (case-insensitive); an unknown one is an error listing the known names.</summary>
    public static ImageResize Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "stretch" => ImageResize.Stretch,
            "center-crop" or "centre-crop" or "centercrop" or "crop" => ImageResize.CenterCrop,
            "pad" or "letterbox" => ImageResize.Pad,
            _ => throw new LoomException($"--resize: unknown mode '{name}'; known: {string.Join(", ", Names)}"),
        };
    }

    /// <summary>
    /// Parses an output size: <c>H</c>x<c>W</c> (<c>64x48</c>, <c>64×48</c>, <c>64,48</c>) or one number for a square;
    /// anything else, or a size that is not positive, is an error quoting the text.
    /// </summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().ToLowerInvariant().Split(['x', '×', ','], StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var h)
            && int.TryParse(parts[^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var w)
            && h > 0 && w > 0)
            return (h, w);
        throw new LoomException($"--image-size: expected HxW such as 64x64 (or one number for a square), found '{text}'");
    }
}

/// <summary>Settings of <see cref="ImageFolder"/>: the output size and colour, and the split of a folder without <c>test/</c>.</summary>
/// <example>
/// <code>
/// var data = ImageFolder.Load("photos", new ImageFolderOptions { Height = 64, Width = 64, Resize = ImageResize.CenterCrop });
/// </code>
/// </example>
public sealed record ImageFolderOptions
{
    /// <summary>Output height H in pixels (default 32).</summary>
    public int Height { get; init; } = 32;

    /// <summary>Output width W in pixels (default 32).</summary>
    public int Width { get; init; } = 32;

    /// <summary>One luma channel (0.299 R + 0.587 G + 0.114 B, as Pillow's <c>convert("L")</c>) instead of R, G, B.</summary>
    public bool Grayscale { get; init; }

    /// <summary>How images of another aspect ratio are fitted (default <see cref="ImageResize.Stretch"/>).</summary>
    public ImageResize Resize { get; init; } = ImageResize.Stretch;

    /// <summary>
    /// For a folder without <c>train/</c> and <c>test/</c> (or <c>val/</c>): the fraction of each class held out for
    /// testing, in (0, 1) (default 0.2).
    /// </summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>The seed of that stratified split.</summary>
    public ulong Seed { get; init; }

    /// <summary>Images decoded at once; 0 (the default) means one per core. The result does not depend on it.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Channels of the output: 1 with <see cref="Grayscale"/>, else 3.</summary>
    public int Channels => Grayscale ? 1 : 3;

    /// <summary>Throws a <see cref="LoomException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Height <= 0 || Width <= 0)
            throw new LoomException($"image-folder: output size {Height}×{Width} must be positive");
        if ((long)Height * Width > 1 << 24)
            throw new LoomException($"image-folder: output size {Height}×{Width} is over 16 megapixels per image");
        if (!(TestFraction > 0 && TestFraction < 1))
            throw new LoomException($"image-folder: test fraction {TestFraction} must be between 0 and 1 (exclusive)");
        if (MaxDegreeOfParallelism < 0)
            throw new LoomException($"image-folder: parallelism {MaxDegreeOfParallelism} must be 0 (one per core) or positive");
        if (!Enum.IsDefined(Resize))
            throw new LoomException($"image-folder: unknown resize mode {(int)Resize}");
    }
}
