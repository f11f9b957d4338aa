using Loom.Data;

namespace Loom.Tests.Data;

public class NormalizationTests
{
    [Fact]
    public void PerChannelPopulationStatistics()
    {
        // Two images of 2 channels × 2 pixels: channel 0 holds 1,2,3,4; channel 1 holds 10,10,30,30.
        float[] images = [1, 2, 10, 10, 3, 4, 30, 30];
        var n = Normalization.Compute(images, channels: 2, pixelsPerChannel: 2);
        Assert.Equal([2.5f, 20f], n.Mean);
        Assert.Equal(MathF.Sqrt(1.25f), n.Std[0], 6);
        Assert.Equal(10f, n.Std[1], 6);
        n.Apply(images, pixelsPerChannel: 2);
        Assert.Equal((1 - 2.5f) / MathF.Sqrt(1.25f), images[0], 6);
        Assert.Equal([-1f, -1f, 1f, 1f], new[] { images[2], images[3], images[6], images[7] });
    }

    [Fact]
    public void DigitsNormaliseToZeroMeanUnitStd()
    {
        var d = DatasetsTests.Digits;
        var norm = d.Train.ComputeNormalization();
        Assert.Equal(0.13089, norm.Mean[0], 4);    // python3 over the committed files: 0.130893, 0.308363
        Assert.Equal(0.30836, norm.Std[0], 4);
        var normalized = d.Normalized();
        Assert.Equal(norm.Mean, normalized.Train.Normalization!.Mean);
        var again = normalized.Train.ComputeNormalization();
        Assert.Equal(0, again.Mean[0], 4);
        Assert.Equal(1, again.Std[0], 4);
        Assert.Equal(norm.Std, normalized.Test.Normalization!.Std);
        Assert.Null(d.Train.Normalization);
        var e = Assert.Throws<LoomException>(() => normalized.Train.Normalized(norm));
        Assert.Contains("already normalised", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsBadStatistics()
    {
        Assert.Throws<LoomException>(() => new Normalization([0.5f], [0f]));
        Assert.Throws<LoomException>(() => new Normalization([0.5f, 0.5f], [1f]));
        var e = Assert.Throws<LoomException>(() => Normalization.Compute(new float[8], 2, 2));
        Assert.Contains("constant", e.Message, StringComparison.Ordinal);
    }
}
