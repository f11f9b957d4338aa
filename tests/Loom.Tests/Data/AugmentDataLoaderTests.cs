using Loom.Data;
using Loom.Data.Augment;

namespace Loom.Tests.Data;

public sealed class AugmentDataLoaderTests
{
    /// <summary>20 random 3×6×6 images in [0, 1], labels i % 2.</summary>
    private static ImageDataset Colour(int n = 20)
    {
        var g = new Generator(5);
        var images = new float[n * 3 * 6 * 6];
        for (var i = 0; i < images.Length; i++) images[i] = g.NextSingle();
        return new ImageDataset("colour", images, [.. Enumerable.Range(0, n).Select(i => i % 2)], 3, 6, 6, ["a", "b"]);
    }

    private static readonly Augmentation Everything = AugmentSpec.Parse("flip,crop(6,2),rotate(20),jitter(0.3,0.3,0.3,0.1),blur(3)");

    private static List<(float[] Images, int[] Labels)> Run(DataLoader loader, int epoch, int start = 0) =>
        [.. loader.Epoch(epoch, start).Select(b => (b.Images.ToArray(), b.Labels.ToIntArray()))];

    [Fact]
    public void EachImageIsAugmentedFromItsOwnSeed()
    {
        var data = Colour();
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 8, Seed = 3, Augmentation = Everything });
        var order = loader.Order(1);
        var batches = Run(loader, 1);
        for (var b = 0; b < batches.Count; b++)
        {
            for (var i = 0; i < batches[b].Labels.Length; i++)
            {
                var position = (b * 8) + i;
                var expected = Everything.Apply(data.Image(order[position]), data.ImageShape, new Generator(loader.AugmentSeed(1, position)));
                Assert.Equal(expected, batches[b].Images.AsSpan(i * data.ImageSize, data.ImageSize).ToArray());
                Assert.Equal(data.Label(order[position]), batches[b].Labels[i]);
            }
        }
    }

    [Fact]
    public void PrefetchResumeAndRepeatChangeNothing()
    {
        var data = Colour();
        var options = new DataLoaderOptions { BatchSize = 6, Seed = 11, Augmentation = Everything };
        var prefetched = Run(new DataLoader(data, options), 2);
        var sequential = Run(new DataLoader(data, options with { Prefetch = false }), 2);
        var again = Run(new DataLoader(data, options), 2);
        var resumed = Run(new DataLoader(data, options), 2, start: 2);
        Assert.Equal(prefetched.Count, sequential.Count);
        for (var b = 0; b < prefetched.Count; b++)
        {
            Assert.Equal(prefetched[b].Images, sequential[b].Images);
            Assert.Equal(prefetched[b].Images, again[b].Images);
        }
        Assert.Equal(prefetched.Count - 2, resumed.Count);
        for (var b = 2; b < prefetched.Count; b++) Assert.Equal(prefetched[b].Images, resumed[b - 2].Images);
    }

    [Fact]
    public void EpochsAndSeedsDrawDifferentAugmentations()
    {
        var data = Colour();
        var unshuffled = new DataLoaderOptions { BatchSize = 20, Shuffle = false, Seed = 1, Augmentation = Everything };
        var e0 = Run(new DataLoader(data, unshuffled), 0)[0].Images;
        var e1 = Run(new DataLoader(data, unshuffled), 1)[0].Images;
        var other = Run(new DataLoader(data, unshuffled with { Seed = 2 }), 0)[0].Images;
        Assert.NotEqual(e0, e1);
        Assert.NotEqual(e0, other);
        var loader = new DataLoader(data, unshuffled);
        Assert.NotEqual(loader.AugmentSeed(0, 0), loader.AugmentSeed(0, 1));
        Assert.NotEqual(loader.AugmentSeed(0, 0), loader.AugmentSeed(1, 0));
        Assert.NotEqual(loader.AugmentSeed(0, 0), loader.EpochSeed(0));
    }

    [Fact]
    public void NoneIsTheSameAsNoAugmentationAndNormalisationComesAfter()
    {
        var data = Colour();
        var norm = data.ComputeNormalization();
        var plain = Run(new DataLoader(data, new DataLoaderOptions { BatchSize = 7, Seed = 4, Normalize = norm }), 0);
        var none = Run(new DataLoader(data, new DataLoaderOptions { BatchSize = 7, Seed = 4, Normalize = norm, Augmentation = AugmentSpec.Parse("none") }), 0);
        for (var b = 0; b < plain.Count; b++) Assert.Equal(plain[b].Images, none[b].Images);

        // Brightness 0 (factor 0..0, a range) makes every image black, then the loader normalises: −mean/std.
        var black = new ColorJitter(new FactorRange(0, 0), null, null, null);
        var batch = Run(new DataLoader(data, new DataLoaderOptions { BatchSize = 20, Normalize = norm, Augmentation = black }), 0)[0].Images;
        Assert.Equal(-norm.Mean[0] / norm.Std[0], batch[0], 6);
        Assert.Equal(-norm.Mean[2] / norm.Std[2], batch[(2 * 36) + 5], 6);
    }

    [Fact]
    public void ALoaderRefusesAugmentationsThatDoNotFit()
    {
        var data = Colour();
        var e = Assert.Throws<LoomException>(() => new DataLoader(data, new DataLoaderOptions { Augmentation = new RandomCrop(4) }));
        Assert.Contains("turns colour's 3×6×6 images into 3×4×4", e.Message, StringComparison.Ordinal);

        var norm = data.ComputeNormalization();
        e = Assert.Throws<LoomException>(() => new DataLoader(data, new DataLoaderOptions { Normalize = norm, Augmentation = new Normalize(norm) }));
        Assert.Contains("normalising twice", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<LoomException>(() => new DataLoader(data.Normalized(norm), new DataLoaderOptions { Augmentation = new ColorJitter(0.2) }));
        Assert.Contains("expects pixels in [0, 1]", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<LoomException>(() => new DataLoader(data, new DataLoaderOptions { Augmentation = new Normalize(new Normalization([0f, 0f], [1f, 1f])) }));
        Assert.Contains("2 channels of means and stds for images of 3", e.Message, StringComparison.Ordinal);

        // Geometric steps are fine on normalised data.
        _ = new DataLoader(data.Normalized(norm), new DataLoaderOptions { Augmentation = AugmentSpec.Parse("flip,crop(6,1)") });
    }
}
