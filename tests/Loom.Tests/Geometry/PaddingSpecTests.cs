using Loom.Geometry;

namespace Loom.Tests.Geometry;

public class PaddingSpecTests
{
    [Theory]
    [InlineData("1", 1, 1, 1, 1, "1")]
    [InlineData("2x3", 2, 2, 3, 3, "2,2,3,3")]
    [InlineData("0,1,2,0", 0, 1, 2, 0, "0,1,2,0")] // top, bottom, left, right
    [InlineData(" 4 , 0 , 0 , 4 ", 4, 0, 0, 4, "4,0,0,4")]
    [InlineData("0", 0, 0, 0, 0, "0")]
    public void Parses2dForms(string text, int top, int bottom, int left, int right, string canonical)
    {
        var spec = PaddingSpec.Parse(text, 2);
        Assert.Equal(PaddingMode.Explicit, spec.Mode);
        Assert.Equal([new AxisPadding(top, bottom), new AxisPadding(left, right)], spec.Axes);
        Assert.Equal(canonical, spec.ToString());
        Assert.Equal(spec.Axes, PaddingSpec.Parse(spec.ToString(), 2).Axes);
    }

    [Theory]
    [InlineData("2", 2, 2)]
    [InlineData("1,0", 1, 0)]
    public void Parses1dForms(string text, int left, int right)
        => Assert.Equal([new AxisPadding(left, right)], PaddingSpec.Parse(text, 1).Axes);

    [Fact]
    public void ParsesSameAndValid()
    {
        Assert.Same(PaddingSpec.Same, PaddingSpec.Parse("same", 2));
        Assert.Same(PaddingSpec.Same, PaddingSpec.Parse("SAME", 1));
        Assert.Same(PaddingSpec.Valid, PaddingSpec.Parse("valid", 2));
        Assert.Equal([new AxisPadding(0, 0), new AxisPadding(0, 0)], PaddingSpec.Valid.Resolve([3, 5], [1, 1], [2, 2]));
    }

    [Fact]
    public void SameResolvesPerAxisWithTheOddPixelAfter()
    {
        var pads = PaddingSpec.Same.Resolve([4, 3], [1, 2], [1, 1]);
        Assert.Equal([new AxisPadding(1, 2), new AxisPadding(2, 2)], pads);
    }

    [Fact]
    public void SameWithStrideTwoNamesTheAxis()
    {
        var e = Assert.Throws<LoomException>(() => PaddingSpec.Same.Resolve([3, 3], [1, 1], [1, 2], "conv2d", ["height", "width"]));
        Assert.Equal("conv2d: padding 'same' needs stride 1 (as in PyTorch), found stride 2 along width", e.Message);
    }

    [Theory]
    [InlineData("1,2", 2, "expected P, PHxPW or T,B,L,R (top,bottom,left,right), 'same' or 'valid' (non-negative integers), found '1,2' (2 values)")]
    [InlineData("1x2x3", 2, "found '1x2x3' (3 values)")]
    [InlineData("1,2,3", 1, "expected P or L,R (left,right), 'same' or 'valid' (non-negative integers), found '1,2,3' (3 values)")]
    [InlineData("abc", 2, "found 'abc'")]
    [InlineData("", 2, "found ''")]
    [InlineData("1,", 1, "found '1,'")]
    [InlineData("-1", 2, "sizes must be non-negative, found -1 in '-1'")]
    [InlineData("0,0,-2,0", 2, "sizes must be non-negative, found -2 in '0,0,-2,0'")]
    public void MalformedPaddingIsAClearError(string text, int axes, string fragment)
    {
        var e = Assert.Throws<LoomException>(() => PaddingSpec.Parse(text, axes, "--padding"));
        Assert.StartsWith("--padding: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplicitPaddingMustMatchTheKernelsAxes()
    {
        var e = Assert.Throws<LoomException>(() => PaddingSpec.Uniform(1, 1).Resolve([3, 3], [1, 1], [1, 1], "conv2d"));
        Assert.Contains("conv2d", e.Message, StringComparison.Ordinal);
        Assert.Throws<LoomException>(() => PaddingSpec.Explicit(new AxisPadding(-1, 0)));
    }
}
