using Loom.Data;
using Loom.Data.Augment;

namespace Loom.Tests.Data;

public sealed class AugmentTests
{
    /// <summary>A C×H×W image whose value at (c, y, x) is 100c + 10y + x, divided by 1000 so it stays in [0, 1].</summary>
    private static float[] Indexed(int c, int h, int w)
    {
        var image = new float[c * h * w];
        for (var k = 0; k < c; k++)
        {
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++) image[(((k * h) + y) * w) + x] = ((100 * k) + (10 * y) + x) / 1000f;
            }
        }
        return image;
    }

    private static float At(float[] image, int h, int w, int c, int y, int x) => image[(((c * h) + y) * w) + x];

    private static float[] Random(int n, ulong seed)
    {
        var g = new Generator(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++) a[i] = g.NextSingle();
        return a;
    }

    [Fact]
    public void FlipMirrorsEachRow()
    {
        var image = Indexed(2, 2, 3);
        var flipped = new RandomHorizontalFlip(p: 1).Apply(image, new Shape(2, 2, 3), new Generator(1));
        Assert.Equal([0.002f, 0.001f, 0f, 0.012f, 0.011f, 0.010f, 0.102f, 0.101f, 0.100f, 0.112f, 0.111f, 0.110f], flipped);
    }

    [Fact]
    public void FlipHappensWithTheDrawnProbability()
    {
        var image = Indexed(1, 3, 4);
        var shape = new Shape(1, 3, 4);
        var half = new RandomHorizontalFlip();
        var flips = 0;
        for (var seed = 0UL; seed < 400; seed++)
        {
            var expectFlip = new Generator(seed).NextDouble() < 0.5;
            var output = half.Apply(image, shape, new Generator(seed));
            Assert.Equal(expectFlip, output[0] != image[0]);
            if (expectFlip) flips++;
        }
        Assert.InRange(flips, 160, 240);
    }

    [Fact]
    public void ZeroProbabilitiesAndZeroAmountsChangeNothing()
    {
        var shape = new Shape(3, 6, 7);
        var image = Random(shape.Numel, 3);
        var identity = new Compose(
            new RandomHorizontalFlip(p: 0),
            new RandomCrop((6, 7), padding: 0),
            new RandomRotation(0),
            new ColorJitter(0, 0, 0, 0));
        for (var seed = 0UL; seed < 20; seed++) Assert.Equal(image, identity.Apply(image, shape, new Generator(seed)));
        Assert.Equal(image, AugmentSpec.Parse("none").Apply(image, shape, new Generator(0)));
    }

    [Fact]
    public void CropWithPaddingTakesTheDrawnWindowOfThePaddedImage()
    {
        var shape = new Shape(2, 3, 4);
        var image = Indexed(2, 3, 4);
        var crop = new RandomCrop((3, 4), padding: 1);
        var seen = new HashSet<(int, int)>();
        for (var seed = 0UL; seed < 60; seed++)
        {
            var (top, left) = crop.DrawOffset(3, 4, new Generator(seed));
            Assert.InRange(top, 0, 2);
            Assert.InRange(left, 0, 2);
            seen.Add((top, left));
            var output = crop.Apply(image, shape, new Generator(seed));
            Assert.Equal(output, crop.Apply(image, shape, new Generator(seed)));
            for (var c = 0; c < 2; c++)
            {
                for (var y = 0; y < 3; y++)
                {
                    for (var x = 0; x < 4; x++)
                    {
                        var (sy, sx) = (y + top - 1, x + left - 1);
                        var expected = sy is >= 0 and < 3 && sx is >= 0 and < 4 ? At(image, 3, 4, c, sy, sx) : 0f;
                        Assert.Equal(expected, At(output, 3, 4, c, y, x));
                    }
                }
            }
        }
        Assert.Equal(9, seen.Count);   // every offset of the 5×6 padded image occurs
    }

    [Fact]
    public void CropOffsetsAreTopThenLeftFromTheGenerator()
    {
        var g = new Generator(42);
        var (top, left) = new RandomCrop(28, padding: 4).DrawOffset(28, 28, new Generator(42));
        Assert.Equal(g.NextInt(9), top);
        Assert.Equal(g.NextInt(9), left);
    }

    [Fact]
    public void CropToASmallerSizeChangesTheShapeAndATooLargeOneIsRefused()
    {
        var crop = new RandomCrop((2, 3));
        Assert.Equal(new Shape(1, 2, 3), crop.OutputShape(new Shape(1, 4, 4)));
        var output = crop.Apply(Indexed(1, 4, 4), new Shape(1, 4, 4), new Generator(5));
        Assert.Equal(6, output.Length);
        var e = Assert.Throws<LoomException>(() => new RandomCrop(10, padding: 2).OutputShape(new Shape(1, 5, 5)));
        Assert.Contains("does not fit in a 5×5 image padded by 2 (9×9)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWindowThatFillsThePaddedImageDrawsNothing()
    {
        var g = new Generator(9);
        var before = g.GetState();
        Assert.Equal((0, 0), new RandomCrop(7, padding: 1).DrawOffset(5, 5, g));
        Assert.Equal(before, g.GetState());
    }

    [Fact]
    public void RotationBy90IsTransposeThenFlip()
    {
        // np.rot90 (counter-clockwise): out[c, y, x] = in[c, x, W − 1 − y].
        const int n = 5;
        var image = Random(2 * n * n, 11);
        var shape = new Shape(2, n, n);
        var rotated = new RandomRotation(90, 90).Apply(image, shape, new Generator(0));
        for (var c = 0; c < 2; c++)
        {
            for (var y = 0; y < n; y++)
            {
                for (var x = 0; x < n; x++) Assert.Equal(At(image, n, n, c, x, n - 1 - y), At(rotated, n, n, c, y, x));
            }
        }
        // 180° flips both axes; −90° is the inverse of 90°; 0° is the identity.
        var half = new float[image.Length];
        RandomRotation.Rotate(image, half, 2, n, n, 180);
        Assert.Equal(At(image, n, n, 1, n - 1, n - 1), At(half, n, n, 1, 0, 0));
        Assert.Equal(At(image, n, n, 0, 1, 3), At(half, n, n, 0, n - 2, n - 4));
        var back = new float[image.Length];
        RandomRotation.Rotate(rotated, back, 2, n, n, -90);
        Assert.Equal(image, back);
        RandomRotation.Rotate(image, back, 2, n, n, 0);
        Assert.Equal(image, back);
    }

    [Fact]
    public void RotationKeepsTheCentreAndFillsWithZeros()
    {
        var image = new float[3 * 3];
        Array.Fill(image, 1f);
        var rotated = new float[9];
        RandomRotation.Rotate(image, rotated, 1, 3, 3, 45);
        Assert.Equal(1f, rotated[4]);
        // A corner's source lies √2 out from the centre along an axis: (1 + √2 − 2) of the way into the border.
        Assert.Equal(2 - Math.Sqrt(2), rotated[0], 6);
        Assert.Equal(1f, rotated[1], 6);   // an edge midpoint's source is a corner region still inside
    }

    [Fact]
    public void RotationAnglesAreUniformInTheRange()
    {
        var rotate = new RandomRotation(-5, 20);
        var g = new Generator(3);
        var u = new Generator(3).NextDouble();
        Assert.Equal(-5 + (25 * u), rotate.DrawAngle(g), 12);
        Assert.Equal(-10, new RandomRotation(10).MinDegrees);
        Assert.Throws<LoomException>(() => new RandomRotation(-1));
    }

    [Fact]
    public void JitterAppliesTheDrawnBrightnessFactorExactly()
    {
        var shape = new Shape(3, 4, 4);
        var image = Random(shape.Numel, 5);
        var jitter = new ColorJitter(brightness: 0.5);
        for (var seed = 0UL; seed < 10; seed++)
        {
            var p = jitter.DrawParameters(new Generator(seed));
            Assert.Null(p.Contrast);
            var f = (float)p.Brightness!.Value;
            Assert.InRange(f, 0.5f, 1.5f);
            var output = jitter.Apply(image, shape, new Generator(seed));
            for (var i = 0; i < image.Length; i++) Assert.Equal(Math.Clamp(f * image[i], 0f, 1f), output[i]);
        }
    }

    [Fact]
    public void JitterDrawsTheOrderThenEachEnabledFactor()
    {
        var jitter = new ColorJitter(brightness: 0.2, saturation: 0.4, hue: 0.1);
        var g = new Generator(17);
        var order = g.Permutation(4);
        var b = 0.8 + (0.4 * g.NextDouble());
        var s = 0.6 + (0.8 * g.NextDouble());
        var h = -0.1 + (0.2 * g.NextDouble());
        var p = jitter.DrawParameters(new Generator(17));
        Assert.Equal(order, p.Order);
        Assert.Equal(b, p.Brightness!.Value, 12);
        Assert.Null(p.Contrast);
        Assert.Equal(s, p.Saturation!.Value, 12);
        Assert.Equal(h, p.Hue!.Value, 12);
    }

    [Fact]
    public void JitterFunctionsOnKnownColours()
    {
        // Contrast 0 turns a 1-channel image into its mean; saturation 0 into its gray; hue +1/3 turns red green.
        float[] gray = [0f, 1f, 0.25f, 0.75f];
        ColorJitter.AdjustContrast(gray, 1, 4, 0);
        Assert.All(gray, v => Assert.Equal(0.5f, v));
        float[] red = [1f, 0f, 0f];
        ColorJitter.AdjustSaturation(red, 3, 1, 0);
        Assert.All(red, v => Assert.Equal(0.2989f, v));
        float[] pure = [1f, 0f, 0f];
        ColorJitter.AdjustHue(pure, 3, 1, 1f / 3);
        Assert.Equal(0f, pure[0], 6);
        Assert.Equal(1f, pure[1], 6);
        Assert.Equal(0f, pure[2], 6);
        // Saturation and hue leave one channel alone; brightness clamps.
        float[] one = [0.3f, 0.9f];
        ColorJitter.AdjustHue(one, 1, 2, 0.25f);
        ColorJitter.AdjustSaturation(one, 1, 2, 3f);
        Assert.Equal([0.3f, 0.9f], one);
        ColorJitter.AdjustBrightness(one, 2f);
        Assert.Equal([0.6f, 1f], one);
    }

    [Fact]
    public void HueRoundTripsThroughHsv()
    {
        var image = Random(3 * 50, 8);
        var copy = (float[])image.Clone();
        ColorJitter.AdjustHue(copy, 3, 50, 0);
        for (var i = 0; i < image.Length; i++) Assert.Equal(image[i], copy[i], 5);
    }

    [Fact]
    public void JitterNeedsOneOrThreeChannels()
    {
        var e = Assert.Throws<LoomException>(() => new ColorJitter(0.1).OutputShape(new Shape(2, 4, 4)));
        Assert.Contains("1 or 3 channels, not 2", e.Message, StringComparison.Ordinal);
        Assert.True(new ColorJitter(0.1).RequiresUnitRange);
    }

    [Fact]
    public void BlurOfAnImpulseIsTheNormalisedGaussianKernel()
    {
        const int n = 7;
        var image = new float[n * n];
        image[(3 * n) + 3] = 1;
        const double sigma = 0.8;
        var blur = new GaussianBlur(3, sigma, sigma);
        var output = blur.Apply(image, new Shape(1, n, n), new Generator(0));
        var k = GaussianBlur.Kernel1d(3, sigma);
        var e0 = Math.Exp(-0.5 / (sigma * sigma));
        Assert.Equal(e0 / (1 + (2 * e0)), k[0], 7);
        Assert.Equal(1 / (1 + (2 * e0)), k[1], 7);
        for (var y = 0; y < n; y++)
        {
            for (var x = 0; x < n; x++)
            {
                var inside = Math.Abs(y - 3) <= 1 && Math.Abs(x - 3) <= 1;
                var expected = inside ? (float)((double)k[y - 2] * k[x - 2]) : 0f;
                Assert.Equal(expected, output[(y * n) + x]);
            }
        }
        Assert.Equal(1.0, output.Sum(v => (double)v), 6);
    }

    [Fact]
    public void BlurSigmaIsDrawnAndKernelsMustBeOdd()
    {
        var blur = new GaussianBlur(5);
        var u = new Generator(4).NextDouble();
        Assert.Equal(0.1 + (1.9 * u), blur.DrawSigma(new Generator(4)), 12);
        Assert.Contains("odd", Assert.Throws<LoomException>(() => new GaussianBlur(4)).Message, StringComparison.Ordinal);
        Assert.Equal(1, GaussianBlur.Reflect(-1, 5));
        Assert.Equal(3, GaussianBlur.Reflect(5, 5));
        Assert.Equal(0, GaussianBlur.Reflect(-3, 1));
        Assert.Equal(2, GaussianBlur.Reflect(-2, 3));
    }

    [Fact]
    public void NormalizeSubtractsAndDividesPerChannel()
    {
        float[] image = [0.5f, 1f, 0.25f, 0.75f];
        var two = new Normalize(new Normalization([0.5f, 0.25f], [0.5f, 0.25f]));
        Assert.Equal([0f, 1f, 0f, 2f], two.Apply(image, new Shape(2, 1, 2), new Generator(0)));
        var one = new Normalize(new Normalization([0.5f], [0.5f]));
        Assert.Equal([0f, 1f, -0.5f, 0.5f], one.Apply(image, new Shape(2, 1, 2), new Generator(0)));
        Assert.Throws<LoomException>(() => two.OutputShape(new Shape(3, 1, 1)));
        Assert.True(one.Normalizes);
    }

    [Fact]
    public void TheSameSeedGivesTheSameImageAndAnotherSeedAnother()
    {
        var shape = new Shape(3, 12, 12);
        var image = Random(shape.Numel, 21);
        var all = AugmentSpec.Parse("flip,crop(12,3),rotate(15),jitter(0.3,0.3,0.3,0.1),blur(3)");
        var a = all.Apply(image, shape, new Generator(99));
        Assert.Equal(a, all.Apply(image, shape, new Generator(99)));
        Assert.NotEqual(a, all.Apply(image, shape, new Generator(100)));
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void ComposeChainsShapesAndDrawsInOrder()
    {
        var shape = new Shape(1, 6, 6);
        var image = Random(shape.Numel, 2);
        var crop = new RandomCrop(4, padding: 1);
        var rotate = new RandomRotation(30);
        var both = new Compose(crop, rotate);
        Assert.Equal(new Shape(1, 4, 4), both.OutputShape(shape));
        var g = new Generator(12);
        var step1 = crop.Apply(image, shape, g);
        var expected = rotate.Apply(step1, new Shape(1, 4, 4), g);
        Assert.Equal(expected, both.Apply(image, shape, new Generator(12)));
        Assert.Equal("crop(4,1),rotate(30)", both.ToString());
    }

    [Fact]
    public void TensorsAndBadSizesAreChecked()
    {
        var t = Tensor.Wrap(Indexed(1, 2, 3), new Shape(1, 2, 3));
        var flipped = new RandomHorizontalFlip(1).Apply(t, new Generator(0));
        Assert.Equal(new Shape(1, 2, 3), flipped.Shape);
        Assert.Equal(0.002f, flipped.ToArray()[0]);
        var flip = new RandomHorizontalFlip();
        Assert.Contains("5 values are not one image of 1×2×3", Assert.Throws<LoomException>(() =>
            flip.Apply(new float[5], new float[6], new Shape(1, 2, 3), new Generator(0))).Message, StringComparison.Ordinal);
        Assert.Contains("C×H×W", Assert.Throws<LoomException>(() => flip.OutputShape(new Shape(2, 3))).Message, StringComparison.Ordinal);
        var buffer = new float[6];
        Assert.Contains("overlap", Assert.Throws<LoomException>(() =>
            flip.Apply(buffer, buffer, new Shape(1, 2, 3), new Generator(0))).Message, StringComparison.Ordinal);
    }
}
