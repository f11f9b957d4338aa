namespace Loom.Data.Augment;

/// <summary>
/// Mirrors the image left to right with probability <see cref="P"/> (torchvision's <c>RandomHorizontalFlip</c>):
/// one uniform draw u ∈ [0, 1) per image, flipped when u &lt; p, so p = 0 never flips and p = 1 always does.
/// Spec: <c>flip</c> (p = 0.5) or <c>flip(p)</c>.
/// </summary>
/// <remarks>Shape: [C, H, W] → [C, H, W]; out[c, y, x] = in[c, y, W − 1 − x] when flipped.</remarks>
/// <example>
/// <code>
/// var flipped = new RandomHorizontalFlip(p: 1).Apply(image, new Shape(1, 28, 28), new Generator(0));
/// </code>
/// </example>
public sealed class RandomHorizontalFlip : Augmentation
{
    /// <summary>Flips with probability <paramref name="p"/> in [0, 1].</summary>
    public RandomHorizontalFlip(double p = 0.5)
    {
        if (!(p >= 0 && p <= 1)) throw new LoomException($"augment flip: probability {p} must be between 0 and 1");
        P = p;
    }

    /// <summary>The probability of a flip.</summary>
    public double P { get; }

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        if (generator.NextDouble() < P) Flip(source, destination, channels, height, width);
        else source.CopyTo(destination);
    }

    /// <summary>out[c, y, x] = in[c, y, W − 1 − x] for a C×H×W image.</summary>
    public static void Flip(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width)
    {
        var rows = channels * height;
        for (var r = 0; r < rows; r++)
        {
            var row = destination.Slice(r * width, width);
            source.Slice(r * width, width).CopyTo(row);
            row.Reverse();
        }
    }

    /// <summary><c>flip</c> or <c>flip(p)</c>.</summary>
    public override string ToString() => P == 0.5 ? "flip" : $"flip({AugmentSpec.Format(P)})";
}
