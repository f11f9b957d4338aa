namespace Loom.Tests.Ops;

/// <summary>Pooling values by hand (PyTorch's numbers), argmax indices, the divisor rules, NaN and errors.</summary>
public class PoolTests
{
    private static readonly Tensor Row = Tensor.FromArray([1f, 2, 3, 4, 5], 1, 1, 5);

    [Fact]
    public void MaxPool2dReturnsValuesAndFlatIndices()
    {
        var x = Tensor.FromArray([1f, 5, 2, 0, 3, 4, 8, 1, 9, 0, 1, 1, 2, 7, 6, 3], 1, 1, 4, 4);
        var (values, indices) = Functional.MaxPool2dWithIndices(x, new MaxPool2dOptions((2, 2)));
        Assert.Equal(new Shape(1, 1, 2, 2), values.Shape);
        Assert.Equal([5f, 8f, 9f, 6f], values.ToArray());
        Assert.Equal([1, 6, 8, 14], indices.ToIntArray());
        Assert.Equal(DType.Int32, indices.DType);
    }

    [Fact]
    public void MaxPoolBackwardRoutesToTheWinnerAndAccumulatesOverlaps()
    {
        // Windows [1,5,2], [2,0,3]... with kernel 3, stride 1 on [1, 5, 2, 0, 3]: winners 5, 5, 3 → ∂x = [0, 2, 0, 0, 1].
        var x = Tensor.FromArray([1f, 5, 2, 0, 3], 1, 1, 5).RequiresGrad_();
        var y = Functional.MaxPool1d(x, 3, stride: 1);
        Assert.Equal([5f, 5f, 3f], y.ToArray());
        y.Backward(Tensor.Ones(1, 1, 3));
        Assert.Equal([0f, 2f, 0f, 0f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void MaxPoolPadsWithMinusInfinityAndPropagatesNaN()
    {
        var negatives = Tensor.FromArray([-3f, -1, -2], 1, 1, 3);
        Assert.Equal([-3f, -1f], Functional.MaxPool1d(negatives, 2, stride: 2, padding: 1).ToArray());
        var (values, indices) = Functional.MaxPool1dWithIndices(Tensor.FromArray([1f, float.NaN, 3, 4, 5], 1, 1, 5), 2, 2);
        Assert.True(float.IsNaN(values.ToArray()[0]));
        Assert.Equal([1, 3], indices.ToIntArray());
    }

    [Fact]
    public void AvgPoolFollowsPyTorchsDivisorRules()
    {
        // Values printed by PyTorch 1.13 (F.avg_pool1d on [1, 2, 3, 4, 5]).
        Assert.Equal([1.5f, 3.5f, 5f], Functional.AvgPool1d(Row, 2, 2, 0, ceilMode: true).ToArray());
        Assert.Equal([1f, 3f, 3f], Functional.AvgPool1d(Row, 3, 2, 1, ceilMode: true, countIncludePad: true).ToArray());
        Assert.Equal([1.5f, 3f, 4.5f], Functional.AvgPool1d(Row, 3, 2, 1, ceilMode: true, countIncludePad: false).ToArray());
        Assert.Equal([0.5f, 2.5f, 4.5f], Functional.AvgPool1d(Row, 2, 2, 1, ceilMode: true, countIncludePad: true).ToArray());
        var square = Tensor.FromArray([1f, 2, 3, 4], 1, 1, 2, 2);
        Assert.Equal([5f], Functional.AvgPool2d(square, 2, divisorOverride: 2).ToArray());
    }

    [Fact]
    public void AvgPoolBackwardSharesTheGradientByTheSameDivisor()
    {
        var x = Row.Clone().RequiresGrad_();
        Functional.AvgPool1d(x, 3, 2, 1, ceilMode: true, countIncludePad: false).Backward(Tensor.Ones(1, 1, 3));
        // Windows {x0,x1}/2, {x1,x2,x3}/3, {x3,x4}/2.
        Assert.Equal([0.5, 0.5 + 1.0 / 3, 1.0 / 3, 1.0 / 3 + 0.5, 0.5], Array.ConvertAll(x.Grad!.ToArray(), v => (double)v), new ToleranceComparer(1e-6));
    }

    [Fact]
    public void AdaptiveAvgPoolUsesFloorAndCeilWindows()
    {
        // 5 → 3: windows [0,2), [1,4), [3,5); 5 → 7 repeats inputs.
        var x = Tensor.FromArray([1f, 2, 3, 4, 5], 1, 1, 1, 5);
        Assert.Equal([1.5f, 3f, 4.5f], Functional.AdaptiveAvgPool2d(x, (1, 3)).ToArray());
        Assert.Equal([1f, 1.5f, 2.5f, 3f, 3.5f, 4.5f, 5f], Functional.AdaptiveAvgPool2d(x, (1, 7)).ToArray());
        Assert.Equal(new Shape(3, 1, 1), Functional.AdaptiveAvgPool2d(Tensor.Ones(3, 4, 4), 1).Shape);
    }

    [Fact]
    public void CeilModeAddsAWindowOnlyWhenItStartsInsideTheInput()
    {
        // L = 5, kernel 2, stride 2: floor gives 2, ceil 3; with padding 1 ceil would give 4 but the 4th window starts at 6 ≥ 5 + 1.
        Assert.Equal(new Shape(1, 1, 2), Functional.MaxPool1d(Row, 2).Shape);
        Assert.Equal(new Shape(1, 1, 3), Functional.MaxPool1d(Row, 2, ceilMode: true).Shape);
        Assert.Equal(new Shape(1, 1, 3), Functional.MaxPool1d(Row, 2, 2, 1, ceilMode: true).Shape);
    }

    [Fact]
    public void ErrorsNameTheOpAndTheRule()
    {
        var e = Assert.Throws<LoomException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 8, 8), 3, padding: 2));
        Assert.Equal("max_pool2d: padding 2 along height must be at most half the kernel size 3 (PyTorch requires padding ≤ kernel/2 = 1)", e.Message);
        e = Assert.Throws<LoomException>(() => Functional.AvgPool1d(Tensor.Zeros(1, 1, 8), 2, padding: 2));
        Assert.Contains("avg_pool1d: padding 2 along length must be at most half the kernel size 2", e.Message);
        e = Assert.Throws<LoomException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 2, 2), 3));
        Assert.Contains("max_pool2d", e.Message);
        Assert.Contains("padded height is 2", e.Message);
        e = Assert.Throws<LoomException>(() => Functional.MaxPool2d(Tensor.Zeros(4, 4), 2));
        Assert.Equal("max_pool2d: input must be [N, C, H, W] (or unbatched [C, H, W]), found [4, 4]", e.Message);
        e = Assert.Throws<LoomException>(() => Functional.AvgPool2d(Tensor.Zeros(1, 1, 4, 4), 2, divisorOverride: 0));
        Assert.Equal("avg_pool2d: divisor_override must be positive, found 0", e.Message);
        e = Assert.Throws<LoomException>(() => Functional.AdaptiveAvgPool2d(Tensor.Zeros(1, 1, 4, 4), (0, 2)));
        Assert.Equal("adaptive_avg_pool2d: output size (0, 2) must be positive", e.Message);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }

    [Theory]
    [InlineData(2, 3, 28, 28)]
    [InlineData(3, 2, 10, 40)]
    [InlineData(1, 1, 7, 9)]
    public void TwoByTwoFastPathMatchesTheGeneralLoop(int n, int c, int h, int w)
    {
        // float32 2×2/2 pooling takes the SIMD path; float64 the general loop. Small integers make ties, and NaN and
        // −∞ appear, so the scan-order rule (first maximum wins, a later NaN wins) is checked lane by lane.
        var g = new Generator(17);
        var x = Tensor.Zeros(new Shape(n, c, h, w));
        var data = x.AsSpan();
        for (var i = 0; i < data.Length; i++)
        {
            var r = g.NextInt(40);
            data[i] = r == 0 ? float.NaN : r == 1 ? float.NegativeInfinity : r % 5;
        }
        var (fast, fastIdx) = Functional.MaxPool2dWithIndices(x, new MaxPool2dOptions((2, 2)));
        var (slow, slowIdx) = Functional.MaxPool2dWithIndices(x.Double(), new MaxPool2dOptions((2, 2)));
        Assert.Equal(slowIdx.ToIntArray(), fastIdx.ToIntArray());
        Assert.Equal(slow.ToArray(), fast.ToArray());
    }

    [Theory]
    [InlineData(6, 8)]
    [InlineData(7, 9)]
    public void MaxPool2x2BackwardPutsEachGradientAtItsWinnerAndZerosElsewhere(int h, int w)
    {
        // The 2×2 stride-2 backward writes each window's four cells; an odd last row/column belongs to no window.
        var x = Tensor.Randn(new Shape(2, 3, h, w), new Generator(4)).RequiresGrad_();
        var (values, indices) = Functional.MaxPool2dWithIndices(x, new MaxPool2dOptions((2, 2)));
        var g = Tensor.Randn(values.Shape, new Generator(5));
        g.AsSpan()[1] = -0f; // 0 + (−0) = +0, as the general loop gives
        values.Backward(g);
        var expected = new float[x.Numel];
        var (idx, gs, plane, outPlane) = (indices.ToIntArray(), g.ToArray(), h * w, (h / 2) * (w / 2));
        for (var o = 0; o < idx.Length; o++) expected[o / outPlane * plane + idx[o]] += gs[o];
        Assert.Equal(expected, x.Grad!.ToArray());
        Assert.False(float.IsNegative(x.Grad!.ToArray()[idx[1]]));
    }
}
