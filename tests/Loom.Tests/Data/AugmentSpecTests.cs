using Loom.Data.Augment;

namespace Loom.Tests.Data;

public sealed class AugmentSpecTests
{
    [Fact]
    public void TheFullExampleParsesIntoItsSteps()
    {
        var augment = AugmentSpec.Parse("flip,crop(28,4),rotate(10),jitter(0.2,0.2,0.2,0.05),blur(3,0.1-2.0)");
        Assert.Collection(augment.Steps,
            s => Assert.Equal(0.5, Assert.IsType<RandomHorizontalFlip>(s).P),
            s =>
            {
                var crop = Assert.IsType<RandomCrop>(s);
                Assert.Equal((28, 28, 4), (crop.Height, crop.Width, crop.Padding));
            },
            s => Assert.Equal((-10.0, 10.0), (Assert.IsType<RandomRotation>(s).MinDegrees, ((RandomRotation)s).MaxDegrees)),
            s =>
            {
                var jitter = Assert.IsType<ColorJitter>(s);
                Assert.Equal(new FactorRange(0.8, 1.2), jitter.Brightness);
                Assert.Equal(new FactorRange(0.8, 1.2), jitter.Contrast);
                Assert.Equal(new FactorRange(0.8, 1.2), jitter.Saturation);
                Assert.Equal(new FactorRange(-0.05, 0.05), jitter.Hue);
            },
            s =>
            {
                var blur = Assert.IsType<GaussianBlur>(s);
                Assert.Equal((3, 3, 0.1, 2.0), (blur.KernelHeight, blur.KernelWidth, blur.SigmaMin, blur.SigmaMax));
            });
        Assert.Equal("flip,crop(28,4),rotate(10),jitter(0.2,0.2,0.2,0.05),blur(3,0.1-2)", augment.ToString());
    }

    [Theory]
    [InlineData("flip", "flip")]
    [InlineData(" Flip ( 0.25 ) , CROP( 24x32 , 2 )", "flip(0.25),crop(24x32,2)")]
    [InlineData("hflip(1),crop(28)", "flip(1),crop(28)")]
    [InlineData("rotate(-5-20)", "rotate(-5-20)")]
    [InlineData("rotate(0.5)", "rotate(0.5)")]
    [InlineData("jitter(0.4)", "jitter(0.4)")]
    [InlineData("jitter(0,0.5-1.2)", "jitter(0,0.5-1.2)")]
    [InlineData("jitter(0,0.5-1.5)", "jitter(0,0.5)")]
    [InlineData("jitter(1.5,0,0,0.5)", "jitter(1.5,0,0,0.5)")]
    [InlineData("blur(5,1.5)", "blur(5,1.5)")]
    [InlineData("blur(3x5)", "blur(3x5,0.1-2)")]
    [InlineData("normalise(0.1307,0.3081)", "normalize(0.1307,0.3081)")]
    [InlineData("normalize(0.485/0.456/0.406, 0.229/0.224/0.225)", "normalize(0.485/0.456/0.406,0.229/0.224/0.225)")]
    [InlineData("none", "none")]
    [InlineData("flip()", "flip")]
    public void SpecsRoundTripThroughToString(string spec, string canonical)
    {
        var parsed = AugmentSpec.Parse(spec);
        Assert.Equal(canonical, parsed.ToString());
        Assert.Equal(canonical, AugmentSpec.Parse(parsed.ToString()).ToString());
    }

    [Theory]
    [InlineData("flip,crop(28,x)", "crop's padding must be a whole number ≥ 0, not 'x' (character 14 of \"flip,crop(28,x)\")")]
    [InlineData("flip,zoom(2)", "unknown augmentation 'zoom'; known: flip, crop, rotate, jitter, blur, normalize, and the presets none, standard (character 6 of")]
    [InlineData("flip,crop(28,4", "the '(' after crop is never closed (character 10 of")]
    [InlineData("flip,", "a step is missing after the last ',' (character 5 of")]
    [InlineData("flip crop", "expected ',' or the end, found 'c' (character 6 of")]
    [InlineData("", "the spec is empty")]
    [InlineData("  ", "the spec is empty")]
    [InlineData("flip(0.5,1)", "flip takes 0 to 1 arguments, not 2 (character 1 of")]
    [InlineData("crop", "crop takes 1 to 2 arguments, not 0 (character 1 of")]
    [InlineData("flip(2)", "flip's probability must be a number from 0 to 1, not '2' (character 6 of")]
    [InlineData("crop(0,4)", "crop's size must be a positive whole number or HxW, not '0' (character 6 of")]
    [InlineData("rotate(-10)", "rotate's degrees must be ≥ 0 (or a range a-b), not '-10' (character 8 of")]
    [InlineData("rotate(20-10)", "rotate's degrees range '20-10' must be increasing (character 8 of")]
    [InlineData("jitter(0.2,,0.1)", "argument 2 of jitter is empty (character 12 of")]
    [InlineData("jitter(0.1,0.1,0.1,0.7)", "jitter's hue must be from 0 to 0.5 (or a range lo-hi within -0.5 to 0.5), not '0.7' (character 20 of")]
    [InlineData("blur(4)", "augment blur: kernel size 4×4 must be odd and positive (character 1 of")]
    [InlineData("flip,blur(3,0-1)", "augment blur: the sigma range 0 to 1 must be positive, finite and increasing (character 6 of")]
    [InlineData("normalize(0.5/0.5,0.2)", "normalize: 2 means and 1 standard deviations; need one of each per channel (character 1 of")]
    [InlineData("none,flip", "'none' stands alone")]
    [InlineData("crop((28),4)", "parentheses do not nest (character 6 of")]
    [InlineData("standard", "the preset 'standard' depends on the images, and no image shape was given (character 1 of")]
    [InlineData("flip,3", "expected an augmentation name, found '3' (character 6 of")]
    public void ErrorsNameThePosition(string spec, string message)
    {
        var e = Assert.Throws<LoomException>(() => AugmentSpec.Parse(spec));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void StandardDependsOnTheDataset()
    {
        Assert.Equal("crop(28,2)", AugmentSpec.Parse("standard", "digits", new Shape(1, 28, 28)).ToString());
        Assert.Equal("flip,crop(28,2)", AugmentSpec.Parse("standard", "fashion-mnist", new Shape(1, 28, 28)).ToString());
        Assert.Equal("flip,crop(32,4)", AugmentSpec.Parse("standard", "image-folder", new Shape(3, 32, 32)).ToString());
        Assert.Equal("flip,crop(64x96,8)", AugmentSpec.Parse("standard", "pets", new Shape(3, 64, 96)).ToString());
        Assert.Equal("crop(28,2)", AugmentSpec.Parse("standard", null, new Shape(1, 28, 28)).ToString());
        Assert.Equal("crop(28,2),rotate(10)", AugmentSpec.Parse("standard,rotate(10)", "digits", new Shape(1, 28, 28)).ToString());
        Assert.Equal(["none", "standard"], AugmentSpec.Presets);
    }
}
