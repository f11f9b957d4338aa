using System.Buffers;
using System.Numerics.Tensors;

namespace Loom.Data;

/// <summary>
/// Per-channel normalisation <c>x' = (x − mean[c]) / std[c]</c>, as torchvision's <c>Normalize</c>. The statistics
/// come from the training split (<see cref="ImageDataset.ComputeNormalization"/>) and are applied unchanged to
/// every split; a run records them in its <c>config.json</c>.
/// </summary>
/// <example>
/// <code>
/// var data = Datasets.Digits();
/// var norm = data.Train.ComputeNormalization();     // mean ≈ [0.13], std ≈ [0.31]
/// var train = data.Train.Normalized(norm);
/// </code>
/// </example>
public sealed class Normalization
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates a normalisation; one mean and one positive, finite std per channel.</summary>
    public Normalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new LoomException($"normalize: {mean.Count} means and {std.Count} standard deviations; need one of each per channel");
        for (var c = 0; c < std.Count; c++)
        {
            if (!float.IsFinite(mean[c]) || !float.IsFinite(std[c]) || std[c] <= 0)
                throw new LoomException($"normalize: channel {c} has mean {mean[c]} and std {std[c]}; the std must be positive and both finite");
        }
        _mean = [.. mean];
        _std = [.. std];
    }

    /// <summary>The per-channel means subtracted.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The per-channel standard deviations divided by.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>The number of channels.</summary>
    public int Channels => _mean.Length;

    /// <summary>
    /// Per-channel mean and population standard deviation (divided by the count, as the usual MNIST figures
    /// 0.1307 / 0.3081 are) over <paramref name="images"/>, laid out N×C×(pixels). Accumulates in float64, two passes.
    /// </summary>
    public static Normalization Compute(ReadOnlySpan<float> images, int channels, int pixelsPerChannel)
    {
        var imageSize = channels * pixelsPerChannel;
        if (channels <= 0 || pixelsPerChannel <= 0 || images.Length == 0 || images.Length % imageSize != 0)
            throw new LoomException($"normalize: {images.Length} values are not a positive number of images of {channels}×{pixelsPerChannel}");
        var n = images.Length / imageSize;
        var mean = new float[channels];
        var std = new float[channels];
        var scratch = ArrayPool<float>.Shared.Rent(pixelsPerChannel);
        try
        {
            var diff = scratch.AsSpan(0, pixelsPerChannel);
            for (var c = 0; c < channels; c++)
            {
                double sum = 0;
                for (var i = 0; i < n; i++) sum += TensorPrimitives.Sum(images.Slice((i * imageSize) + (c * pixelsPerChannel), pixelsPerChannel));
                var m = sum / ((double)n * pixelsPerChannel);
                double squares = 0;
                for (var i = 0; i < n; i++)
                {
                    TensorPrimitives.Subtract(images.Slice((i * imageSize) + (c * pixelsPerChannel), pixelsPerChannel), (float)m, diff);
                    squares += TensorPrimitives.SumOfSquares<float>(diff);
                }
                mean[c] = (float)m;
                std[c] = (float)Math.Sqrt(squares / ((double)n * pixelsPerChannel));
                if (std[c] == 0)
                    throw new LoomException($"normalize: channel {c} is constant ({mean[c]}) over all {n} images; its std is 0");
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
        return new Normalization(mean, std);
    }

    /// <summary>Normalises <paramref name="images"/> (N×C×pixels, C = <see cref="Channels"/>) in place.</summary>
    public void Apply(Span<float> images, int pixelsPerChannel)
    {
        var imageSize = Channels * pixelsPerChannel;
        if (pixelsPerChannel <= 0 || images.Length % imageSize != 0)
            throw new LoomException($"normalize: {images.Length} values are not a whole number of images of {Channels}×{pixelsPerChannel}");
        for (var offset = 0; offset < images.Length; offset += imageSize)
        {
            for (var c = 0; c < Channels; c++)
            {
                var plane = images.Slice(offset + (c * pixelsPerChannel), pixelsPerChannel);
                TensorPrimitives.Subtract(plane, _mean[c], plane);
                TensorPrimitives.Divide(plane, _std[c], plane);
            }
        }
    }

    /// <summary>E.g. <c>mean [0.1307], std [0.3081]</c>.</summary>
    public override string ToString() =>
        $"mean [{string.Join(", ", _mean.Select(v => v.ToString("G4")))}], std [{string.Join(", ", _std.Select(v => v.ToString("G4")))}]";
}
