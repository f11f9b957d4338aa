namespace Loom.Tests.Ops;

/// <summary>Functional.BatchNorm in float32 where the batch statistics are badly conditioned.</summary>
public class BatchNormTests
{
    /// <summary>
    /// Batch 2 with the two values of a channel close together (x = a ± d, d ∈ [0.005, 0.02], so σ̂ = 1/√(d² + ε) is
    /// 50–200): the ∂x term k·(x − μ) has k ∝ σ̂³. ∂x is orthogonal to a constant shift of the channel, so Σ∂x is 0 —
    /// it is the gradient of a bias ahead of the norm. A seed of the PyTorch module set (748467, residual case 12)
    /// showed float32 Σ∂x = −1.4e-4 where float64 gives 0, because x − μ was taken against μ rounded to float and
    /// k·2·(μ_float − μ) stayed in the sum. Measured against the scale of the terms that cancel, γσ̂·max|g|: float32
    /// rounding alone leaves a few units of 2⁻²⁴ of it.
    /// </summary>
    [Fact]
    public void NearlyConstantChannelsGiveAGradientThatSumsToZeroInFloat32()
    {
        const int channels = 512;
        const double eps = 1e-5;
        var generator = new Generator(748467);
        var centre = Tensor.Rand(new Shape(channels), generator).ToArray();
        var spread = Tensor.Rand(new Shape(channels), generator).ToArray();
        var gamma = Tensor.Rand(new Shape(channels), generator).ToArray().Select(v => 0.5f + v).ToArray();
        var upstream = Tensor.Randn(new Shape(2, channels), generator);
        var (values, scale) = (new float[2 * channels], new double[channels]);
        var g = upstream.ToArray();
        for (var ch = 0; ch < channels; ch++)
        {
            var (a, d) = ((2 * centre[ch]) - 1, 0.005f + (0.015f * spread[ch]));
            (values[ch], values[channels + ch]) = (a - d, a + d);
            var half = (values[channels + ch] - (double)values[ch]) / 2;
            scale[ch] = gamma[ch] / Math.Sqrt((half * half) + eps) * Math.Max(Math.Abs(g[ch]), Math.Abs(g[channels + ch]));
        }

        double[] RelativeSums(DType dtype)
        {
            var x = Tensor.FromArray(values, 2, channels).To(dtype).RequiresGrad_();
            var weight = Tensor.FromArray(gamma, channels).To(dtype);
            Functional.BatchNorm(x, null, null, weight, null, training: true, eps: eps).Backward(upstream.To(dtype));
            var grad = x.Grad!.ToDoubleArray();
            return [.. Enumerable.Range(0, channels).Select(ch => (grad[ch] + grad[channels + ch]) / scale[ch])];
        }

        Assert.All(RelativeSums(DType.Float64), s => Assert.True(Math.Abs(s) < 1e-13, $"float64 Σ∂x / γσ̂·max|g| = {s}"));
        var worst = RelativeSums(DType.Float32).Select(Math.Abs).Max();
        TestContext.Current.TestOutputHelper?.WriteLine($"float32 worst |Σ∂x| / γσ̂·max|g| over {channels} channels: {worst:E2}");
        Assert.True(worst < 8 * Math.Pow(2, -24), $"float32 |Σ∂x| / γσ̂·max|g| reaches {worst:E2}");
    }
}
