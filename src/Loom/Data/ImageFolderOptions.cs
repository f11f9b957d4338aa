namespace Loom.Data;

/// <summary>How an image of another shape is fitted to the output size.</summary>
public enum ImageResize
{
    /// <summary>Scale width and height independently to the output size (the aspect ratio may change).</summary>
    Stretch,

    /// <summary>Keep the aspect ratio: scale until the image covers the output, then cut the centre
    /// (torchvision's <c>Resize(min(H, W))</c> then <c>CenterCrop((H, W))</c>).</summary>
    CenterCrop,
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
