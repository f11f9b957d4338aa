namespace Loom.Data;

/// <summary>
/// A labelled image set held in memory: N images of C×H×W float32 values (row-major, N×C×H×W in one array)
/// and N integer labels in [0, <see cref="NumClasses"/>). Immutable; <see cref="Normalized"/> and
/// <see cref="Subset"/> return new sets.
/// </summary>
/// <remarks>
/// Shape: images [N, C, H, W] (IDX images of bytes are divided by 255, so [0, 1]); labels [N].
/// </remarks>
/// <example>
/// <code>
/// var test = Datasets.Digits().Test;                 // 2000 images of 1×28×28
/// var (x, y) = test.Gather([0, 1, 2]);               // x [3, 1, 28, 28], y [3] Int32
/// </code>
/// </example>
public sealed class ImageDataset
{
    private readonly float[] _images;
    private readonly int[] _labels;
    private readonly string[] _classNames;

    /// <summary>
    /// Wraps <paramref name="images"/> (N×C×H×W values, not copied) and <paramref name="labels"/> (N, not copied).
    /// </summary>
    public ImageDataset(string name, float[] images, int[] labels, int channels, int height, int width,
        IReadOnlyList<string> classNames, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new LoomException($"{name}: image size {channels}×{height}×{width} must be positive");
        var imageSize = (long)channels * height * width;
        if (images.Length != imageSize * labels.Length)
            throw new LoomException($"{name}: {images.Length} pixel values are not {labels.Length} images of {channels}×{height}×{width}");
        if (classNames.Count == 0) throw new LoomException($"{name}: no class names");
        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new LoomException($"{name}: label {labels[i]} of image {i} is outside 0..{classNames.Count - 1} ({classNames.Count} classes)");
        }
        if (normalization is not null && normalization.Channels != channels)
            throw new LoomException($"{name}: a normalisation of {normalization.Channels} channels for images of {channels}");
        Name = name;
        _images = images;
        _labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        _classNames = [.. classNames];
        Normalization = normalization;
    }

    /// <summary>A name for messages, e.g. <c>digits/train</c>.</summary>
    public string Name { get; }

    /// <summary>The number of images N.</summary>
    public int Count => _labels.Length;

    /// <summary>Channels per image C.</summary>
    public int Channels { get; }

    /// <summary>Image height H.</summary>
    public int Height { get; }

    /// <summary>Image width W.</summary>
    public int Width { get; }

    /// <summary>Values per image, C·H·W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>One image's shape [C, H, W].</summary>
    public Shape ImageShape => new(Channels, Height, Width);

    /// <summary>The class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>The number of classes.</summary>
    public int NumClasses => _classNames.Length;

    /// <summary>The normalisation already applied to the pixels, or null for raw values.</summary>
    public Normalization? Normalization { get; }

    /// <summary>All pixels, N×C×H×W.</summary>
    public ReadOnlySpan<float> Images => _images;

    /// <summary>All labels.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>The pixels of image <paramref name="index"/>, C×H×W.</summary>
    public ReadOnlySpan<float> Image(int index) => _images.AsSpan(CheckIndex(index) * ImageSize, ImageSize);

    /// <summary>The label of image <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[CheckIndex(index)];

    private int CheckIndex(int index) =>
        (uint)index < (uint)Count ? index : throw new LoomException($"{Name}: image {index} is out of range (0..{Count - 1})");

    /// <summary>How many images each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (var label in _labels) counts[label]++;
        return counts;
    }

    /// <summary>Per-channel mean and std of these images (use the training split's for every split).</summary>
    public Normalization ComputeNormalization() => Normalization.Compute(_images, Channels, Height * Width);

    /// <summary>A copy with <paramref name="normalization"/> applied to every pixel.</summary>
    public ImageDataset Normalized(Normalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        if (Normalization is not null)
            throw new LoomException($"{Name}: already normalised ({Normalization}); normalising twice is a mistake");
        if (normalization.Channels != Channels)
            throw new LoomException($"{Name}: a normalisation of {normalization.Channels} channels for images of {Channels}");
        var images = (float[])_images.Clone();
        normalization.Apply(images, Height * Width);
        return new ImageDataset(Name, images, _labels, Channels, Height, Width, _classNames, normalization);
    }

    /// <summary>A new set of the images at <paramref name="indices"/>, in that order (copied).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices, string? name = null)
    {
        var images = new float[indices.Length * ImageSize];
        var labels = new int[indices.Length];
        CopyTo(indices, images, labels);
        return new ImageDataset(name ?? Name, images, labels, Channels, Height, Width, _classNames, Normalization);
    }

    /// <summary>The images at <paramref name="indices"/> as tensors: images [B, C, H, W], labels [B] Int32.</summary>
    public (Tensor Images, Tensor Labels) Gather(ReadOnlySpan<int> indices)
    {
        var images = new float[indices.Length * ImageSize];
        var labels = new int[indices.Length];
        CopyTo(indices, images, labels);
        return (Tensor.Wrap(images, new Shape(indices.Length, Channels, Height, Width)), Tensor.Wrap(labels, new Shape(indices.Length)));
    }

    /// <summary>Copies the images and labels at <paramref name="indices"/> into the two buffers.</summary>
    internal void CopyTo(ReadOnlySpan<int> indices, Span<float> images, Span<int> labels)
    {
        var size = ImageSize;
        var source = _images.AsSpan();
        for (var i = 0; i < indices.Length; i++)
        {
            var index = CheckIndex(indices[i]);
            source.Slice(index * size, size).CopyTo(images.Slice(i * size, size));
            labels[i] = _labels[index];
        }
    }

    /// <summary>E.g. <c>digits/train: 8000 images of 1×28×28, 10 classes</c>.</summary>
    public override string ToString() => $"{Name}: {Count} images of {Channels}×{Height}×{Width}, {NumClasses} classes";
}

/// <summary>A dataset's training and test splits.</summary>
/// <param name="Name">The dataset's name (<c>digits</c>, <c>fashion-mnist</c>, or the folder's name).</param>
/// <param name="Source">Where it was read from.</param>
/// <param name="Train">The training split.</param>
/// <param name="Test">The test split.</param>
public sealed record ImageSplits(string Name, string Source, ImageDataset Train, ImageDataset Test)
{
    /// <summary>
    /// Both splits normalised with <paramref name="normalization"/>, by default the training split's own
    /// statistics (<see cref="ImageDataset.ComputeNormalization"/>).
    /// </summary>
    public ImageSplits Normalized(Normalization? normalization = null)
    {
        normalization ??= Train.ComputeNormalization();
        return this with { Train = Train.Normalized(normalization), Test = Test.Normalized(normalization) };
    }
}
