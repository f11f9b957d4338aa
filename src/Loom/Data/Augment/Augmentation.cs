namespace Loom.Data.Augment;

/// <summary>
/// A random (or fixed) transformation of one image of C×H×W float32 values, as torchvision's transforms on a
/// tensor image. Every random choice is drawn from the <see cref="Generator"/> passed in, so the same generator
/// state gives the same output. Instances are immutable and may be used from several threads at once.
/// </summary>
/// <remarks>
/// <para><see cref="ToString"/> is the spec that <see cref="AugmentSpec.Parse"/> reads back (e.g.
/// <c>crop(28,4)</c>), so a run can record its augmentation as text.</para>
/// Shape: [C, H, W] → <see cref="OutputShape"/> (the input shape, except for a crop to another size).
/// </remarks>
/// <example>
/// <code>
/// var augment = AugmentSpec.Parse("flip,crop(32,4)");
/// var output = augment.Apply(image, new Shape(3, 32, 32), new Generator(seed: 1));
/// </code>
/// </example>
public abstract class Augmentation
{
    /// <summary>The shape of the output for an input of shape [C, H, W]; throws when the input does not suit.</summary>
    public Shape OutputShape(Shape input)
    {
        if (input.Rank != 3 || input[0] <= 0 || input[1] <= 0 || input[2] <= 0)
            throw new LoomException($"augment {this}: an image must be C×H×W with positive sizes, not {input}");
        return OutputShapeCore(input[0], input[1], input[2]);
    }

    /// <summary>The output shape for a C×H×W input, checked to be positive (default: unchanged).</summary>
    protected virtual Shape OutputShapeCore(int channels, int height, int width) => new(channels, height, width);

    /// <summary>True when the transform assumes pixel values in [0, 1] (colour jitter clamps to it).</summary>
    public virtual bool RequiresUnitRange => false;

    /// <summary>True when the transform normalises (so the loader must not normalise again).</summary>
    public virtual bool Normalizes => false;

    /// <summary>
    /// Transforms <paramref name="source"/> (one image of <paramref name="shape"/> [C, H, W]) into
    /// <paramref name="destination"/> (<see cref="OutputShape"/> values), drawing from <paramref name="generator"/>.
    /// The two spans must not overlap.
    /// </summary>
    public void Apply(ReadOnlySpan<float> source, Span<float> destination, Shape shape, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var output = OutputShape(shape);
        if (source.Length != shape.Numel)
            throw new LoomException($"augment {this}: {source.Length} values are not one image of {Format(shape)}");
        if (destination.Length != output.Numel)
            throw new LoomException($"augment {this}: the destination holds {destination.Length} values, the output of {Format(shape)} is {Format(output)}");
        if (source.Overlaps(destination))
            throw new LoomException($"augment {this}: the source and destination overlap");
        ApplyCore(source, destination, shape[0], shape[1], shape[2], generator);
    }

    /// <summary>A new array holding the transformed image (see <see cref="Apply(ReadOnlySpan{float}, Span{float}, Shape, Generator)"/>).</summary>
    public float[] Apply(ReadOnlySpan<float> image, Shape shape, Generator generator)
    {
        var output = new float[OutputShape(shape).Numel];
        Apply(image, output, shape, generator);
        return output;
    }

    /// <summary>A new tensor holding the transform of <paramref name="image"/>, a float32 tensor [C, H, W].</summary>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.DType != DType.Float32)
            throw new LoomException($"augment {this}: images are float32 tensors, not {image.DType.TorchName()}");
        var shape = OutputShape(image.Shape);
        var output = new float[shape.Numel];
        Apply(image.AsSpan(), output, image.Shape, generator);
        return Tensor.Wrap(output, shape);
    }

    /// <summary>The transform itself, on checked sizes; <paramref name="destination"/> has the output shape's length.</summary>
    protected abstract void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator);

    /// <summary>The spec of this augmentation, e.g. <c>rotate(10)</c>, as <see cref="AugmentSpec.Parse"/> reads it.</summary>
    public abstract override string ToString();

    /// <summary>E.g. <c>3×32×32</c>.</summary>
    internal static string Format(Shape shape) => string.Join("×", shape.ToArray());
}
