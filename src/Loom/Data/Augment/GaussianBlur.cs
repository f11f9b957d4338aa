using System.Buffers;

namespace Loom.Data.Augment;

/// <summary>
/// Blurs the image with a Gaussian kernel whose σ is drawn uniformly from [<see cref="SigmaMin"/>,
/// <see cref="SigmaMax"/>] per image (torchvision's <c>GaussianBlur(kernel_size, sigma=(0.1, 2.0))</c>), the edges
/// reflected. Spec: <c>blur(k)</c> (σ in 0.1-2.0), <c>blur(k,σ)</c>, <c>blur(k,lo-hi)</c>, <c>blur(HxW,…)</c>;
/// kernel sizes are odd.
/// </summary>
/// <remarks>
/// <para>Kernel (<see cref="Kernel1d"/>): x = −(k−1)/2 … (k−1)/2, g(x) = exp(−x²/(2σ²)) / Σ exp(−x²/(2σ²)); the 2-D
/// kernel is the outer product, applied as a horizontal then a vertical pass over the image padded by k/2 with
/// reflection (…c b | a b c … without repeating the edge pixel), as torchvision does.</para>
/// Shape: [C, H, W] → [C, H, W].
/// </remarks>
/// <example>
/// <code>
/// var blur = new GaussianBlur(3, sigmaMin: 0.1, sigmaMax: 2.0);   // or new GaussianBlur((3, 5), 1.0, 1.0)
/// </code>
/// </example>
public sealed class GaussianBlur : Augmentation
{
    /// <summary>σ range of torchvision's default.</summary>
    public const double DefaultSigmaMin = 0.1, DefaultSigmaMax = 2.0;

    /// <summary>A <paramref name="kernelSize"/> (height, width) kernel (odd sizes), σ in [min, max].</summary>
    public GaussianBlur((int Height, int Width) kernelSize, double sigmaMin = DefaultSigmaMin, double sigmaMax = DefaultSigmaMax)
    {
        var (kernelHeight, kernelWidth) = kernelSize;
        if (kernelHeight <= 0 || kernelWidth <= 0 || kernelHeight % 2 == 0 || kernelWidth % 2 == 0)
            throw new LoomException($"augment blur: kernel size {kernelHeight}×{kernelWidth} must be odd and positive");
        if (!(sigmaMin > 0 && sigmaMin <= sigmaMax) || !double.IsFinite(sigmaMax))
            throw new LoomException($"augment blur: the sigma range {sigmaMin} to {sigmaMax} must be positive, finite and increasing");
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
    }

    /// <summary>A square <paramref name="kernelSize"/>×<paramref name="kernelSize"/> kernel.</summary>
    public GaussianBlur(int kernelSize, double sigmaMin = DefaultSigmaMin, double sigmaMax = DefaultSigmaMax)
        : this((kernelSize, kernelSize), sigmaMin, sigmaMax) { }

    /// <summary>Kernel rows (odd).</summary>
    public int KernelHeight { get; }

    /// <summary>Kernel columns (odd).</summary>
    public int KernelWidth { get; }

    /// <summary>The smallest σ.</summary>
    public double SigmaMin { get; }

    /// <summary>The largest σ.</summary>
    public double SigmaMax { get; }

    /// <summary>σ uniform in [min, max): min + (max − min)·u (one draw even when min = max).</summary>
    public double DrawSigma(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return SigmaMin + ((SigmaMax - SigmaMin) * generator.NextDouble());
    }

    /// <summary>The normalised 1-D Gaussian of <paramref name="size"/> taps (torchvision's <c>_get_gaussian_kernel1d</c>).</summary>
    public static float[] Kernel1d(int size, double sigma)
    {
        if (size <= 0 || size % 2 == 0) throw new LoomException($"augment blur: kernel size {size} must be odd and positive");
        if (!(sigma > 0)) throw new LoomException($"augment blur: sigma {sigma} must be positive");
        var pdf = new double[size];
        var half = (size - 1) * 0.5;
        double sum = 0;
        for (var i = 0; i < size; i++)
        {
            var x = (i - half) / sigma;
            pdf[i] = Math.Exp(-0.5 * x * x);
            sum += pdf[i];
        }
        var kernel = new float[size];
        for (var i = 0; i < size; i++) kernel[i] = (float)(pdf[i] / sum);
        return kernel;
    }

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        var sigma = DrawSigma(generator);
        Blur(source, destination, channels, height, width, Kernel1d(KernelHeight, sigma), Kernel1d(KernelWidth, sigma));
    }

    /// <summary>
    /// Separable correlation of a C×H×W image with <paramref name="kernelY"/> ⊗ <paramref name="kernelX"/> (odd
    /// lengths), the image extended by reflection.
    /// </summary>
    public static void Blur(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width,
        ReadOnlySpan<float> kernelY, ReadOnlySpan<float> kernelX)
    {
        var plane = height * width;
        var rx = kernelX.Length / 2;
        var ry = kernelY.Length / 2;
        var temp = ArrayPool<float>.Shared.Rent(plane);
        try
        {
            var t = temp.AsSpan(0, plane);
            for (var c = 0; c < channels; c++)
            {
                var src = source.Slice(c * plane, plane);
                var dst = destination.Slice(c * plane, plane);
                for (var y = 0; y < height; y++)
                {
                    var row = src.Slice(y * width, width);
                    for (var x = 0; x < width; x++)
                    {
                        double sum = 0;
                        for (var k = 0; k < kernelX.Length; k++) sum += kernelX[k] * row[Reflect(x + k - rx, width)];
                        t[(y * width) + x] = (float)sum;
                    }
                }
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        double sum = 0;
                        for (var k = 0; k < kernelY.Length; k++) sum += kernelY[k] * t[(Reflect(y + k - ry, height) * width) + x];
                        dst[(y * width) + x] = (float)sum;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(temp);
        }
    }

    /// <summary>Index <paramref name="i"/> reflected into 0..n−1 without repeating the edge (−1 → 1, n → n − 2).</summary>
    internal static int Reflect(int i, int n)
    {
        if ((uint)i < (uint)n) return i;
        if (n == 1) return 0;
        var period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }

    /// <summary><c>blur(3,0.1-2)</c>, <c>blur(5,1.5)</c>, <c>blur(3x5,0.5-1)</c>.</summary>
    public override string ToString()
    {
        var size = KernelHeight == KernelWidth ? $"{KernelHeight}" : $"{KernelHeight}x{KernelWidth}";
        var sigma = SigmaMin == SigmaMax ? AugmentSpec.Format(SigmaMin) : $"{AugmentSpec.Format(SigmaMin)}-{AugmentSpec.Format(SigmaMax)}";
        return $"blur({size},{sigma})";
    }
}
