namespace Loom.Data.Augment;

/// <summary>
/// Pads the image with <see cref="Padding"/> zeros on every side, then cuts a <see cref="Height"/>×<see cref="Width"/>
/// window at a random position (torchvision's <c>RandomCrop(size, padding)</c> with zero fill). With the crop the
/// size of the image, the content shifts by up to ±padding pixels. Spec: <c>crop(size,padding)</c>,
/// <c>crop(HxW,padding)</c>, or <c>crop(size)</c> without padding.
/// </summary>
/// <remarks>
/// <para>Offsets (<see cref="DrawOffset"/>): top = uniform integer in [0, H + 2p − h], then left in [0, W + 2p − w],
/// both in the padded image; nothing is drawn when the window fills the padded image.</para>
/// Shape: [C, H, W] → [C, h, w]; out[c, y, x] = in[c, y + top − p, x + left − p], 0 outside the image.
/// h ≤ H + 2p and w ≤ W + 2p.
/// </remarks>
/// <example>
/// <code>
/// var crop = new RandomCrop(32, padding: 4);   // CIFAR's standard shift
/// </code>
/// </example>
public sealed class RandomCrop : Augmentation
{
    /// <summary>A <paramref name="size"/> (height, width) window of the image padded by <paramref name="padding"/>.</summary>
    public RandomCrop((int Height, int Width) size, int padding = 0)
    {
        if (size.Height <= 0 || size.Width <= 0) throw new LoomException($"augment crop: size {size.Height}×{size.Width} must be positive");
        if (padding < 0) throw new LoomException($"augment crop: padding {padding} must not be negative");
        Height = size.Height;
        Width = size.Width;
        Padding = padding;
    }

    /// <summary>A square <paramref name="size"/>×<paramref name="size"/> window.</summary>
    public RandomCrop(int size, int padding = 0) : this((size, size), padding) { }

    /// <summary>The output height.</summary>
    public int Height { get; }

    /// <summary>The output width.</summary>
    public int Width { get; }

    /// <summary>Zeros added on each side before cropping.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    protected override Shape OutputShapeCore(int channels, int height, int width)
    {
        if (Height > height + (2 * Padding) || Width > width + (2 * Padding))
        {
            throw new LoomException($"augment {this}: a {Height}×{Width} window does not fit in a {height}×{width} image " +
                $"padded by {Padding} ({height + (2 * Padding)}×{width + (2 * Padding)})");
        }
        return new Shape(channels, Height, Width);
    }

    /// <summary>The window's top-left corner in the padded image of an <paramref name="height"/>×<paramref name="width"/> input.</summary>
    public (int Top, int Left) DrawOffset(int height, int width, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var rows = height + (2 * Padding) - Height + 1;
        var cols = width + (2 * Padding) - Width + 1;
        if (rows <= 0 || cols <= 0) _ = OutputShapeCore(1, height, width);
        if (rows == 1 && cols == 1) return (0, 0);
        var top = generator.NextInt(rows);
        var left = generator.NextInt(cols);
        return (top, left);
    }

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        var (top, left) = DrawOffset(height, width, generator);
        Crop(source, destination, channels, height, width, top - Padding, left - Padding, Height, Width);
    }

    /// <summary>
    /// out[c, y, x] = in[c, y + top, x + left] for y &lt; <paramref name="outHeight"/>, x &lt; <paramref name="outWidth"/>;
    /// 0 where that falls outside the image (offsets may be negative).
    /// </summary>
    public static void Crop(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width,
        int top, int left, int outHeight, int outWidth)
    {
        var x0 = Math.Clamp(-left, 0, outWidth);            // first x with a source column
        var x1 = Math.Clamp(width - left, x0, outWidth);    // one past the last
        for (var c = 0; c < channels; c++)
        {
            var plane = source.Slice(c * height * width, height * width);
            for (var y = 0; y < outHeight; y++)
            {
                var row = destination.Slice(((c * outHeight) + y) * outWidth, outWidth);
                var sy = y + top;
                if ((uint)sy >= (uint)height || x1 <= x0)
                {
                    row.Clear();
                    continue;
                }
                row[..x0].Clear();
                plane.Slice((sy * width) + x0 + left, x1 - x0).CopyTo(row[x0..x1]);
                row[x1..].Clear();
            }
        }
    }

    /// <summary><c>crop(28,4)</c>, <c>crop(24x32,2)</c>, <c>crop(28)</c>.</summary>
    public override string ToString()
    {
        var size = Height == Width ? $"{Height}" : $"{Height}x{Width}";
        return Padding == 0 ? $"crop({size})" : $"crop({size},{Padding})";
    }
}
