namespace Loom.Data.Augment;

/// <summary>An interval [Min, Max] a jitter factor is drawn from.</summary>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
public readonly record struct FactorRange(double Min, double Max);

/// <summary>The factors one <see cref="ColorJitter"/> draw chose, and the order they are applied in.</summary>
/// <param name="Order">A permutation of 0 (brightness), 1 (contrast), 2 (saturation), 3 (hue).</param>
/// <param name="Brightness">The brightness factor, or null when brightness is not jittered.</param>
/// <param name="Contrast">The contrast factor, or null.</param>
/// <param name="Saturation">The saturation factor, or null.</param>
/// <param name="Hue">The hue shift in turns, or null.</param>
public sealed record JitterParameters(int[] Order, double? Brightness, double? Contrast, double? Saturation, double? Hue);

/// <summary>
/// Randomly changes brightness, contrast, saturation and hue, with torchvision's <c>ColorJitter</c> semantics:
/// per image, a random order of the four (<c>randperm(4)</c>), then a factor for each enabled one, uniform in its
/// range; the adjustments are applied in that order, each clamping to [0, 1]. Images must have 1 or 3 channels
/// with values in [0, 1] (apply before normalising); saturation and hue leave 1-channel images unchanged.
/// Spec: <c>jitter(b)</c>, <c>jitter(b,c)</c>, <c>jitter(b,c,s)</c>, <c>jitter(b,c,s,h)</c>; a number x means
/// [max(0, 1 − x), 1 + x] (for hue [−x, x], x ≤ 0.5), a range <c>lo-hi</c> is taken as is; 0 disables one.
/// </summary>
/// <remarks>
/// <para>brightness f: x' = clamp(f·x); contrast f: x' = clamp(f·x + (1 − f)·m), m the mean of the image's gray
/// (0.2989 R + 0.587 G + 0.114 B; the mean of the pixels for 1 channel); saturation f: x' = clamp(f·x + (1 − f)·gray)
/// per pixel; hue h: RGB → HSV, H' = (H + h) mod 1, HSV → RGB (torchvision's <c>_rgb2hsv</c>/<c>_hsv2rgb</c>).</para>
/// Shape: [C, H, W] → [C, H, W], C ∈ {1, 3}.
/// </remarks>
/// <example>
/// <code>
/// var jitter = new ColorJitter(brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05);
/// </code>
/// </example>
public sealed class ColorJitter : Augmentation
{
    /// <summary>Gray weights of torchvision's <c>rgb_to_grayscale</c>.</summary>
    internal const float RedGray = 0.2989f, GreenGray = 0.587f, BlueGray = 0.114f;

    /// <summary>Jitter by the given amounts: factors in [max(0, 1 − x), 1 + x], hue in [−h, h]; 0 disables one.</summary>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0)
        : this(Around1(brightness, "brightness"), Around1(contrast, "contrast"), Around1(saturation, "saturation"), AroundZero(hue))
    {
    }

    /// <summary>Jitter with explicit ranges; null (or [1, 1], or [0, 0] for hue) disables one.</summary>
    public ColorJitter(FactorRange? brightness, FactorRange? contrast, FactorRange? saturation, FactorRange? hue)
    {
        Brightness = CheckFactor(brightness, "brightness");
        Contrast = CheckFactor(contrast, "contrast");
        Saturation = CheckFactor(saturation, "saturation");
        if (hue is { } h)
        {
            if (!(h.Min >= -0.5 && h.Min <= h.Max && h.Max <= 0.5))
                throw new LoomException($"augment jitter: the hue range {h.Min} to {h.Max} must lie within -0.5 to 0.5, increasing");
            Hue = h is { Min: 0, Max: 0 } ? null : h;
        }
    }

    private static FactorRange? Around1(double amount, string what)
    {
        if (!(amount >= 0) || !double.IsFinite(amount)) throw new LoomException($"augment jitter: {what} {amount} must be a finite number ≥ 0");
        return amount == 0 ? null : new FactorRange(Math.Max(0, 1 - amount), 1 + amount);
    }

    private static FactorRange? AroundZero(double hue)
    {
        if (!(hue >= 0 && hue <= 0.5)) throw new LoomException($"augment jitter: hue {hue} must be between 0 and 0.5");
        return hue == 0 ? null : new FactorRange(-hue, hue);
    }

    private static FactorRange? CheckFactor(FactorRange? range, string what)
    {
        if (range is not { } r) return null;
        if (!(r.Min >= 0 && r.Min <= r.Max) || !double.IsFinite(r.Max))
            throw new LoomException($"augment jitter: the {what} range {r.Min} to {r.Max} must be finite, ≥ 0 and increasing");
        return r is { Min: 1, Max: 1 } ? null : r;
    }

    /// <summary>The brightness factor range, or null.</summary>
    public FactorRange? Brightness { get; }

    /// <summary>The contrast factor range, or null.</summary>
    public FactorRange? Contrast { get; }

    /// <summary>The saturation factor range, or null.</summary>
    public FactorRange? Saturation { get; }

    /// <summary>The hue shift range (turns, within ±0.5), or null.</summary>
    public FactorRange? Hue { get; }

    /// <inheritdoc/>
    public override bool RequiresUnitRange => true;

    /// <inheritdoc/>
    protected override Shape OutputShapeCore(int channels, int height, int width) => channels is 1 or 3
        ? new Shape(channels, height, width)
        : throw new LoomException($"augment {this}: colour jitter needs images of 1 or 3 channels, not {channels}");

    /// <summary>torchvision's <c>get_params</c>: the order (a permutation of 4), then each enabled factor in turn.</summary>
    public JitterParameters DrawParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var order = generator.Permutation(4);
        return new JitterParameters(order, Draw(Brightness, generator), Draw(Contrast, generator), Draw(Saturation, generator), Draw(Hue, generator));
    }

    private static double? Draw(FactorRange? range, Generator generator) =>
        range is { } r ? r.Min + ((r.Max - r.Min) * generator.NextDouble()) : null;

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        var p = DrawParameters(generator);
        source.CopyTo(destination);
        var plane = height * width;
        foreach (var step in p.Order)
        {
            switch (step)
            {
                case 0 when p.Brightness is { } b: AdjustBrightness(destination, (float)b); break;
                case 1 when p.Contrast is { } c: AdjustContrast(destination, channels, plane, (float)c); break;
                case 2 when p.Saturation is { } s: AdjustSaturation(destination, channels, plane, (float)s); break;
                case 3 when p.Hue is { } h: AdjustHue(destination, channels, plane, (float)h); break;
                default: break;
            }
        }
    }

    /// <summary>x' = clamp(f·x, 0, 1) (torchvision's <c>adjust_brightness</c>), in place.</summary>
    public static void AdjustBrightness(Span<float> image, float factor)
    {
        for (var i = 0; i < image.Length; i++) image[i] = Math.Clamp(factor * image[i], 0f, 1f);
    }

    /// <summary>x' = clamp(f·x + (1 − f)·m, 0, 1), m the mean gray level of the image (<c>adjust_contrast</c>), in place.</summary>
    public static void AdjustContrast(Span<float> image, int channels, int plane, float factor)
    {
        double sum = 0;
        if (channels == 3)
        {
            for (var i = 0; i < plane; i++) sum += Gray(image, plane, i);
        }
        else
        {
            foreach (var v in image) sum += v;
        }
        var mean = (float)(sum / (channels == 3 ? plane : image.Length));
        var offset = (1 - factor) * mean;
        for (var i = 0; i < image.Length; i++) image[i] = Math.Clamp((factor * image[i]) + offset, 0f, 1f);
    }

    /// <summary>x' = clamp(f·x + (1 − f)·gray, 0, 1) per pixel (<c>adjust_saturation</c>), in place; 1 channel is unchanged.</summary>
    public static void AdjustSaturation(Span<float> image, int channels, int plane, float factor)
    {
        if (channels != 3) return;
        var keep = 1 - factor;
        for (var i = 0; i < plane; i++)
        {
            var gray = keep * Gray(image, plane, i);
            for (var c = 0; c < 3; c++)
            {
                ref var v = ref image[(c * plane) + i];
                v = Math.Clamp((factor * v) + gray, 0f, 1f);
            }
        }
    }

    /// <summary>
    /// Shifts the hue by <paramref name="shift"/> turns (−0.5..0.5) through HSV, as torchvision's <c>adjust_hue</c>,
    /// in place; 1 channel is unchanged.
    /// </summary>
    public static void AdjustHue(Span<float> image, int channels, int plane, float shift)
    {
        if (channels != 3) return;
        var red = image[..plane];
        var green = image.Slice(plane, plane);
        var blue = image.Slice(2 * plane, plane);
        for (var i = 0; i < plane; i++)
        {
            var (h, s, v) = RgbToHsv(red[i], green[i], blue[i]);
            h += shift;
            h -= MathF.Floor(h);   // Python's % 1.0: into [0, 1)
            (red[i], green[i], blue[i]) = HsvToRgb(h, s, v);
        }
    }

    private static float Gray(ReadOnlySpan<float> image, int plane, int i) =>
        (RedGray * image[i]) + (GreenGray * image[plane + i]) + (BlueGray * image[(2 * plane) + i]);

    /// <summary>torchvision's <c>_rgb2hsv</c> for one pixel.</summary>
    internal static (float H, float S, float V) RgbToHsv(float r, float g, float b)
    {
        var maxc = MathF.Max(r, MathF.Max(g, b));
        var minc = MathF.Min(r, MathF.Min(g, b));
        var equal = maxc == minc;
        var cr = maxc - minc;
        var s = cr / (equal ? 1f : maxc);
        var divisor = equal ? 1f : cr;
        var rc = (maxc - r) / divisor;
        var gc = (maxc - g) / divisor;
        var bc = (maxc - b) / divisor;
        float h;
        if (maxc == r) h = bc - gc;
        else if (maxc == g) h = 2f + rc - bc;
        else h = 4f + gc - rc;
        h = ((h / 6f) + 1f) % 1f;   // torch.fmod of a positive number
        return (h, s, maxc);
    }

    /// <summary>torchvision's <c>_hsv2rgb</c> for one pixel.</summary>
    internal static (float R, float G, float B) HsvToRgb(float h, float s, float v)
    {
        var i6 = MathF.Floor(h * 6f);
        var f = (h * 6f) - i6;
        var i = ((int)i6 % 6 + 6) % 6;
        var p = Math.Clamp(v * (1f - s), 0f, 1f);
        var q = Math.Clamp(v * (1f - (s * f)), 0f, 1f);
        var t = Math.Clamp(v * (1f - (s * (1f - f))), 0f, 1f);
        return i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    /// <summary><c>jitter(b,c,s,h)</c> with each amount written as x (the symmetric range) or lo-hi.</summary>
    public override string ToString()
    {
        var parts = new[] { Factor(Brightness), Factor(Contrast), Factor(Saturation), HueText(Hue) };
        var n = parts.Length;
        while (n > 1 && parts[n - 1] == "0") n--;
        return $"jitter({string.Join(",", parts[..n])})";
    }

    private static string Factor(FactorRange? range)
    {
        if (range is not { } r) return "0";
        // The amount x of [max(0, 1 − x), 1 + x], recovered from 1 + x to 12 digits (1.2 − 1 is 0.19999999999999996).
        var x = double.Parse((r.Max - 1).ToString("G12", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        return x > 0 && r.Min == Math.Max(0, 1 - x) && r.Max == 1 + x
            ? AugmentSpec.Format(x)
            : $"{AugmentSpec.Format(r.Min)}-{AugmentSpec.Format(r.Max)}";
    }

    private static string HueText(FactorRange? range)
    {
        if (range is not { } r) return "0";
        return r.Min == -r.Max ? AugmentSpec.Format(r.Max) : $"{AugmentSpec.Format(r.Min)}-{AugmentSpec.Format(r.Max)}";
    }
}
