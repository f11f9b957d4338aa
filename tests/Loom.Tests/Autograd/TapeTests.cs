using static Loom.Functional;

namespace Loom.Tests.Autograd;

public class TapeTests
{
    [Fact]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        var w = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        (w * 3f).Sum().Backward();
        (w * w).Sum().Backward();
        Assert.Equal([3f + 2f, 3f + 4f], w.Grad!.ToArray());
    }

    [Fact]
    public void ReusedTensorReceivesTheSumOfBothPaths()
    {
        var x = Tensor.FromArray([2.0], 1).RequiresGrad_();
        var y = x * x;          // dy/dx = 2x = 4
        var z = (y * x + y).Sum(); // z = x³ + x², dz/dx = 3x² + 2x = 16
        z.Backward();
        Assert.Equal(16.0, x.Grad!.ToDoubleArray()[0], 12);
    }

    [Fact]
    public void SecondBackwardThroughAFreedGraphNamesTheOp()
    {
        var x = Tensor.FromArray([1f], 1).RequiresGrad_();
        var y = Exp(x).Sum();
        y.Backward();
        var e = Assert.Throws<LoomException>(() => y.Backward());
        Assert.Contains("already used", e.Message);
    }

    [Fact]
    public void NoGradRecordsNothingAndDetachCutsTheGraph()
    {
        var x = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        using (Loom.Autograd.NoGrad())
        {
            var y = x * 2f;
            Assert.False(y.RequiresGrad);
            Assert.True(y.IsLeaf);
        }
        var d = (x * 2f).Detach();
        Assert.False(d.RequiresGrad);
        var z = (x * d).Sum();
        z.Backward();
        Assert.Equal([2f, 4f], x.Grad!.ToArray()); // d is a constant [2, 4]
    }

    [Fact]
    public void BackwardOfNonScalarNeedsAGradient()
    {
        var x = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        var y = x * 2f;
        var e = Assert.Throws<LoomException>(() => y.Backward());
        Assert.Contains("non-scalar", e.Message);
        y.Backward(Tensor.FromArray([1f, 10f], 2));
        Assert.Equal([2f, 20f], x.Grad!.ToArray());
    }

    [Fact]
    public void DeepChainDoesNotOverflowTheStack()
    {
        var x = Tensor.FromArray([1.0], 1).RequiresGrad_();
        var y = x;
        for (var i = 0; i < 100_000; i++) y = y * 1.0;
        y.Sum().Backward();
        Assert.Equal(1.0, x.Grad!.ToDoubleArray()[0]);
    }

    [Fact]
    public void IntTensorsCannotRequireGrad()
    {
        var e = Assert.Throws<LoomException>(() => Tensor.FromArray([1, 2], 2).RequiresGrad_());
        Assert.Contains("int32", e.Message);
    }
}
