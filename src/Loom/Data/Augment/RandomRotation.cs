namespace Loom.Data.Augment;

/// <summary>
/// Rotates the image about its centre by an angle drawn uniformly from [<see cref="MinDegrees"/>,
/// <see cref="MaxDegrees"/>], counter-clockwise for positive angles, sampling bilinearly, zeros where the rotated
/// image does not reach (torchvision's <c>RandomRotation(degrees, interpolation=BILINEAR, fill=0)</c>, whose
/// default is nearest). Spec: <c>rotate(d)</c> for [−d, d], or <c>rotate(a-b)</c>.
/// </summary>
/// <remarks>
/// <para>The centre is ((W − 1)/2, (H − 1)/2) in pixel indices, as torchvision's. For the output pixel at offset
/// (dx, dy) from it the source is (cx + cos θ·dx − sin θ·dy, cy + sin θ·dx + cos θ·dy) (y pointing down), read
/// bilinearly from the four neighbours, each outside the image counting as 0. (torchvision additionally
/// multiplies by the bilinear coverage mask, darkening the border twice; Loom does not.) Angles that are multiples
/// of 90° move pixels exactly.</para>
/// Shape: [C, H, W] → [C, H, W].
/// </remarks>
/// <example>
/// <code>
/// var rotated = new RandomRotation(90, 90).Apply(image, shape, generator);   // exactly np.rot90
/// </code>
/// </example>
public sealed class RandomRotation : Augmentation
{
    /// <summary>Angles in [−<paramref name="degrees"/>, <paramref name="degrees"/>].</summary>
    public RandomRotation(double degrees) : this(-NonNegative(degrees), degrees) { }

    private static double NonNegative(double degrees) => degrees >= 0 ? degrees
        : throw new LoomException($"augment rotate: {degrees} degrees must not be negative (give a range a-b for asymmetric angles)");

    /// <summary>Angles in [<paramref name="minDegrees"/>, <paramref name="maxDegrees"/>].</summary>
    public RandomRotation(double minDegrees, double maxDegrees)
    {
        if (!double.IsFinite(minDegrees) || !double.IsFinite(maxDegrees) || minDegrees > maxDegrees)
            throw new LoomException($"augment rotate: the range {minDegrees} to {maxDegrees} degrees must be finite and increasing");
        MinDegrees = minDegrees;
        MaxDegrees = maxDegrees;
    }

    /// <summary>The smallest angle in degrees.</summary>
    public double MinDegrees { get; }

    /// <summary>The largest angle in degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>An angle uniform in [min, max): min + (max − min)·u.</summary>
    public double DrawAngle(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return MinDegrees + ((MaxDegrees - MinDegrees) * generator.NextDouble());
    }

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator) =>
        Rotate(source, destination, channels, height, width, DrawAngle(generator));

    /// <summary>Rotates a C×H×W image counter-clockwise by <paramref name="degrees"/> about its centre (bilinear, zero fill).</summary>
    public static void Rotate(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, double degrees)
    {
        var (sin, cos) = double.SinCosPi(degrees / 180);
        var cx = (width - 1) * 0.5;
        var cy = (height - 1) * 0.5;
        var plane = height * width;
        for (var y = 0; y < height; y++)
        {
            var dy = y - cy;
            for (var x = 0; x < width; x++)
            {
                var dx = x - cx;
                var sx = cx + (cos * dx) - (sin * dy);
                var sy = cy + (sin * dx) + (cos * dy);
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                var fx = sx - x0;
                var fy = sy - y0;
                // The four neighbours' weights; a neighbour outside the image gets weight 0.
                var inX0 = (uint)x0 < (uint)width;
                var inX1 = (uint)(x0 + 1) < (uint)width;
                var inY0 = (uint)y0 < (uint)height;
                var inY1 = (uint)(y0 + 1) < (uint)height;
                var w00 = inY0 && inX0 ? (1 - fx) * (1 - fy) : 0;
                var w01 = inY0 && inX1 ? fx * (1 - fy) : 0;
                var w10 = inY1 && inX0 ? (1 - fx) * fy : 0;
                var w11 = inY1 && inX1 ? fx * fy : 0;
                var i00 = (y0 * width) + x0;
                var o = (y * width) + x;
                for (var c = 0; c < channels; c++)
                {
                    var p = source.Slice(c * plane, plane);
                    double v = 0;
                    if (w00 != 0) v += w00 * p[i00];
                    if (w01 != 0) v += w01 * p[i00 + 1];
                    if (w10 != 0) v += w10 * p[i00 + width];
                    if (w11 != 0) v += w11 * p[i00 + width + 1];
                    destination[(c * plane) + o] = (float)v;
                }
            }
        }
    }

    /// <summary><c>rotate(10)</c> or <c>rotate(-5-20)</c>.</summary>
    public override string ToString() => MinDegrees == -MaxDegrees
        ? $"rotate({AugmentSpec.Format(MaxDegrees)})"
        : $"rotate({AugmentSpec.Format(MinDegrees)}-{AugmentSpec.Format(MaxDegrees)})";
}
