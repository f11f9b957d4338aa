using System.Numerics.Tensors;

namespace Loom.Data.Augment;

/// <summary>
/// Per-channel x' = (x − mean[c]) / std[c] as a pipeline step (torchvision's <c>Normalize</c>); one mean and std
/// may serve every channel. Usually the last step; a <see cref="DataLoader"/> that normalises itself
/// (<see cref="DataLoaderOptions.Normalize"/>) refuses a pipeline that also does. Spec: <c>normalize(m,s)</c>, or
/// per channel <c>normalize(0.49/0.48/0.45,0.25/0.24/0.26)</c>.
/// </summary>
/// <remarks>Shape: [C, H, W] → [C, H, W], C = the normalisation's channels (or any C for one channel's figures).</remarks>
/// <example>
/// <code>
/// var step = new Normalize(new Normalization([0.1307f], [0.3081f]));
/// </code>
/// </example>
public sealed class Normalize : Augmentation
{
    /// <summary>Applies <paramref name="normalization"/>.</summary>
    public Normalize(Normalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        Normalization = normalization;
    }

    /// <summary>The means and standard deviations.</summary>
    public Normalization Normalization { get; }

    /// <inheritdoc/>
    public override bool Normalizes => true;

    /// <inheritdoc/>
    protected override Shape OutputShapeCore(int channels, int height, int width) =>
        Normalization.Channels == channels || Normalization.Channels == 1
            ? new Shape(channels, height, width)
            : throw new LoomException($"augment {this}: {Normalization.Channels} channels of means and stds for images of {channels}");

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        var plane = height * width;
        for (var c = 0; c < channels; c++)
        {
            var k = Normalization.Channels == 1 ? 0 : c;
            var target = destination.Slice(c * plane, plane);
            TensorPrimitives.Subtract(source.Slice(c * plane, plane), Normalization.Mean[k], target);
            TensorPrimitives.Divide(target, Normalization.Std[k], target);
        }
    }

    /// <summary><c>normalize(0.1307,0.3081)</c> or with '/'-separated lists per channel.</summary>
    public override string ToString() =>
        $"normalize({string.Join("/", Normalization.Mean.Select(AugmentSpec.Format))},{string.Join("/", Normalization.Std.Select(AugmentSpec.Format))})";
}
