using Loom.Geometry;

namespace Loom.Tests.Geometry;

public class ReceptiveFieldTests
{
    [Fact]
    public void TwoThreeByThreeConvolutionsThenAPool()
    {
        // conv3 p1, conv3 p1, maxpool2: the classic VGG block.
        var trace = ReceptiveField.Trace([new WindowLayer(3, PadLow: 1), new WindowLayer(3, PadLow: 1), new WindowLayer(2, 2)]);
        Assert.Equal([new ReceptiveField(3, 1, -1), new ReceptiveField(5, 1, -2), new ReceptiveField(6, 2, -2)], trace);
        Assert.Equal(trace[^1], ReceptiveField.Of([new WindowLayer(3, PadLow: 1), new WindowLayer(3, PadLow: 1), new WindowLayer(2, 2)]));
    }

    [Fact]
    public void SeedsLayerAloneSeesItsKernel()
    {
        Assert.Equal(new ReceptiveField(4, 4, 0), ReceptiveField.Input.Then(4, stride: 4));
        Assert.Equal(new ReceptiveField(5, 2, 0), ReceptiveField.Input.Then(3, stride: 2, dilation: 2));
        Assert.Equal(ReceptiveField.Input, ReceptiveField.Of([]));
    }

    [Fact]
    public void ExplainSubstitutesTheRecurrence()
    {
        var rf = new ReceptiveField(3, 1, -1);
        Assert.Equal("r = 3 + (3−1)·1·1 = 5, j = 1·2 = 2, start = -1 − 1·1 = -2", rf.Explain(new WindowLayer(3, 2, 1, 1)));
    }

    [Fact]
    public void BadLayersAreClearErrors()
    {
        Assert.Contains("kernel size must be positive, found 0", Assert.Throws<LoomException>(() => ReceptiveField.Input.Then(0)).Message, StringComparison.Ordinal);
        Assert.Contains("stride must be positive", Assert.Throws<LoomException>(() => ReceptiveField.Input.Then(3, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("dilation must be positive", Assert.Throws<LoomException>(() => ReceptiveField.Input.Then(3, 1, -1)).Message, StringComparison.Ordinal);
        Assert.Contains("padding must be non-negative", Assert.Throws<LoomException>(() => ReceptiveField.Input.Then(3, 1, 1, -1)).Message, StringComparison.Ordinal);
        Assert.Contains("exceeds", Assert.Throws<LoomException>(() => ReceptiveField.Of(Enumerable.Repeat(new WindowLayer(2, 1000), 5))).Message, StringComparison.Ordinal);
    }
}
