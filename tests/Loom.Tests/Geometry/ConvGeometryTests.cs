using Loom.Geometry;

namespace Loom.Tests.Geometry;

public class ConvGeometryTests
{
    [Theory]
    // The seed: 21x12, kernel 4x5, stride 4 → 5x2; padding top 0 bottom 1 left 2 right 0 → 5x3.
    [InlineData(21, 4, 4, 0, 0, 1, 5)]
    [InlineData(12, 5, 4, 0, 0, 1, 2)]
    [InlineData(21, 4, 4, 0, 1, 1, 5)]
    [InlineData(12, 5, 4, 2, 0, 1, 3)]
    [InlineData(32, 3, 2, 1, 1, 2, 15)]
    [InlineData(7, 3, 2, 0, 0, 1, 3)] // the sheet's 1-D problem
    [InlineData(32, 4, 1, 1, 2, 1, 32)] // 'same' for an even kernel
    [InlineData(5, 5, 1, 0, 0, 1, 1)] // the kernel just fits
    [InlineData(1, 3, 1, 1, 1, 1, 1)]
    [InlineData(5, 2, 1, 0, 0, 4, 1)] // dilated kernel spans 5
    public void OutputSizeFollowsTheFormula(int length, int kernel, int stride, int lo, int hi, int dilation, int expected)
        => Assert.Equal(expected, ConvGeometry.OutputSize(length, kernel, stride, lo, hi, dilation));

    [Fact]
    public void ExplainSubstitutesTheNumbers()
    {
        var d = ConvGeometry.ExplainOutputSize(21, 4, 4, axisName: "height", symbol: "H");
        Assert.Equal(5, d.Output);
        Assert.Equal("H' = floor((H + p_lo + p_hi − d·(k−1) − 1)/s) + 1", d.Formula);
        Assert.Equal("H' = floor((21 + 0 + 0 − 1·(4−1) − 1)/4) + 1 = floor(17/4) + 1 = 5", d.Derivation);
        Assert.Null(d.Note);
        Assert.Equal(4, d.KernelSpan);

        var w = ConvGeometry.ExplainOutputSize(12, 5, 4, 2, 0, symbol: "W");
        Assert.Equal("W' = floor((12 + 2 + 0 − 1·(5−1) − 1)/4) + 1 = floor(9/4) + 1 = 3", w.Derivation);
        Assert.Equal(new AxisPadding(2, 0), w.Padding);
    }

    [Fact]
    public void CeilModeDropsAWindowThatStartsInTheRightPadding()
    {
        // PyTorch: MaxPool1d(2, 2, padding=1, ceil_mode=True) on length 5 gives 3, not ceil(5/2) + 1 = 4.
        Assert.Equal(3, ConvGeometry.PoolOutputSize(5, 2, 2, 1, 1, ceilMode: true));
        Assert.Equal(3, ConvGeometry.PoolOutputSize(5, 2, 2, 1, 1, ceilMode: false));
        // Ceil mode keeps a last partial window that starts inside the input: length 6, kernel 3, stride 2.
        Assert.Equal(2, ConvGeometry.PoolOutputSize(6, 3, 2));
        Assert.Equal(3, ConvGeometry.PoolOutputSize(6, 3, 2, ceilMode: true));

        var d = ConvGeometry.ExplainPoolOutputSize(5, 2, 2, 1, 1, ceilMode: true, symbol: "H");
        Assert.Equal("H' = ceil((5 + 1 + 1 − 1·(2−1) − 1)/2) + 1 = ceil(5/2) + 1 = 4 → 3", d.Derivation);
        Assert.NotNull(d.Note);
        Assert.Contains("(4−1)·2 = 6 ≥ H + p_lo = 6", d.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void CeilModeAcceptsAKernelOverhangingThePaddedInputByLessThanTheStride()
    {
        // PyTorch 1.13: F.max_pool1d(x, 2, 2, ceil_mode=True) on length 1 gives 1 window; kernel 3, stride 2 gives an
        // error (output size 0); kernel 4, stride 3 on length 2 gives 1; kernel 2, stride 1 on length 1 gives an error.
        Assert.Equal(1, ConvGeometry.PoolOutputSize(1, 2, 2, ceilMode: true));
        Assert.Equal(1, ConvGeometry.PoolOutputSize(2, 4, 3, ceilMode: true));
        Assert.Equal(1, ConvGeometry.PoolOutputSize(1, 5, 3, 1, 1, ceilMode: true));
        Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(1, 3, 2, ceilMode: true));
        Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(1, 2, 1, ceilMode: true));
        var e = Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(1, 2, 2, ceilMode: false, op: "maxpool2d", axisName: "height"));
        Assert.Contains("padded height is 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("in ceil mode", Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(1, 3, 2, ceilMode: true)).Message, StringComparison.Ordinal);
        // Convolutions have no ceil mode: the kernel must fit.
        Assert.Throws<LoomException>(() => ConvGeometry.OutputSize(1, 2, 2));
    }

    [Fact]
    public void PoolingPaddingIsAtMostHalfTheKernel()
    {
        Assert.Equal(3, ConvGeometry.PoolOutputSize(5, 3, 2, 1, 1, op: "maxpool2d")); // 1 ≤ 3/2
        var e = Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(5, 2, 2, 2, 0, op: "maxpool2d", axisName: "height"));
        Assert.Contains("maxpool2d", e.Message, StringComparison.Ordinal);
        Assert.Contains("height", e.Message, StringComparison.Ordinal);
        Assert.Contains("half the kernel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TransposedOutputSizeAndItsDerivation()
    {
        Assert.Equal(14, ConvGeometry.TransposedOutputSize(7, 3, 2, 1, 1, outputPadding: 1));
        Assert.Equal(13, ConvGeometry.TransposedOutputSize(7, 3, 2, 1, 1));
        var d = ConvGeometry.ExplainTransposedOutputSize(7, 3, 2, 1, 1, outputPadding: 1, symbol: "H");
        Assert.Equal("H' = (H−1)·s − p_lo − p_hi + d·(k−1) + output_padding + 1", d.Formula);
        Assert.Equal("H' = (7−1)·2 − 1 − 1 + 1·(3−1) + 1 + 1 = 14", d.Derivation);
        Assert.True(d.Transposed);
        var e = Assert.Throws<LoomException>(() => ConvGeometry.TransposedOutputSize(7, 3, 2, outputPadding: 2, op: "convtranspose2d"));
        Assert.Contains("output_padding 2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, 1, 1, 1)]
    [InlineData(4, 1, 1, 2)] // odd total: the extra pixel after
    [InlineData(1, 1, 0, 0)]
    [InlineData(3, 2, 2, 2)]
    [InlineData(4, 3, 4, 5)]
    public void SamePaddingSplitsTheTotal(int kernel, int dilation, int lo, int hi)
    {
        Assert.Equal((lo, hi), ConvGeometry.SamePadding(kernel, dilation));
        Assert.Equal(10, ConvGeometry.OutputSize(10, kernel, 1, lo, hi, dilation));
    }

    [Fact]
    public void SamePaddingNeedsStrideOne()
    {
        var e = Assert.Throws<LoomException>(() => ConvGeometry.SamePadding(3, stride: 2, op: "conv2d"));
        Assert.Contains("conv2d", e.Message, StringComparison.Ordinal);
        Assert.Contains("stride 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("found stride 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelLargerThanPaddedInputNamesTheKernelThePaddedSizeAndTheRequirement()
    {
        var e = Assert.Throws<LoomException>(() => ConvGeometry.OutputSize(3, 5, op: "conv2d", axisName: "height"));
        Assert.Equal("conv2d: kernel 5 with dilation 1 spans D·(K−1)+1 = 1·(5−1)+1 = 5 along height, but the padded height is 3 (= 3 + 0 + 0); "
            + "the formula needs padded height ≥ D·(K−1)+1", e.Message);
    }

    [Theory]
    [InlineData(0, 3, 1, 0, 1, "input height must be positive, found 0")]
    [InlineData(-4, 3, 1, 0, 1, "input height must be positive, found -4")]
    [InlineData(8, 0, 1, 0, 1, "kernel size along height must be positive, found 0")]
    [InlineData(8, 3, 0, 0, 1, "stride along height must be positive, found 0")]
    [InlineData(8, 3, -2, 0, 1, "stride along height must be positive, found -2")]
    [InlineData(8, 3, 1, 0, 0, "dilation along height must be positive, found 0")]
    [InlineData(8, 3, 1, -1, 1, "padding along height must be non-negative, found -1,-1")]
    public void BadSizesNameTheOpTheAxisAndTheValue(int length, int kernel, int stride, int pad, int dilation, string message)
    {
        var e = Assert.Throws<LoomException>(() => ConvGeometry.OutputSize(length, kernel, stride, pad, pad, dilation, op: "conv2d", axisName: "height"));
        Assert.Equal($"conv2d: {message}", e.Message);
    }

    [Fact]
    public void HugeSizesFailClearlyInsteadOfOverflowing()
    {
        var e = Assert.Throws<LoomException>(() => ConvGeometry.OutputSize(int.MaxValue, 1, 1, int.MaxValue, int.MaxValue));
        Assert.Contains("exceeds", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, ConvGeometry.OutputSize(int.MaxValue, int.MaxValue));
    }
}
