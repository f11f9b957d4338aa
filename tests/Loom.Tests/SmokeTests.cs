namespace Loom.Tests;

public class SmokeTests
{
    [Fact]
    public void AddBroadcastsAndBackpropagates()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3).RequiresGrad_();
        var b = Tensor.FromArray([10f, 20f, 30f], 3).RequiresGrad_();
        var y = Functional.Sum(Functional.Mul(Functional.Add(a, b), a));
        Assert.Equal((11 * 1) + (22 * 2) + (33 * 3) + (14 * 4) + (25 * 5) + (36 * 6), y.Item(), 3);
        y.Backward();
        // ∂/∂a = 2a + b, ∂/∂b = Σ_rows a
        Assert.Equal([12f, 24f, 36f, 18f, 30f, 42f], a.Grad!.ToArray());
        Assert.Equal([5f, 7f, 9f], b.Grad!.ToArray());
    }

    [Fact]
    public void ConversionPassesGradientBackInTheSourceType()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0], 3).RequiresGrad_();
        var y = (x.Float() * 2f).Sum();
        y.Backward();
        Assert.Equal(DType.Float64, x.Grad!.DType);
        Assert.Equal([2.0, 2.0, 2.0], x.Grad.ToDoubleArray());
    }
}
