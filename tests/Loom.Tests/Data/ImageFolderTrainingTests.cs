using Loom.Data;
using Loom.Data.Augment;
using Loom.Nn;
using SkiaSharp;

namespace Loom.Tests.Data;

/// <summary>The data side of "an image-folder run trains and evaluates": PNGs on disk → split → augmented batches → a model.</summary>
public sealed class ImageFolderTrainingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Warm (reddish) and cool (bluish) noisy photos of assorted sizes, 12 of each.</summary>
    private void WritePhotos()
    {
        var g = new Generator(1);
        foreach (var (cls, warm) in new[] { ("cool", false), ("warm", true) })
        {
            for (var i = 0; i < 12; i++)
            {
                var (w, h) = (10 + g.NextInt(20), 10 + g.NextInt(20));
                var seed = g.NextUInt64();
                var noise = new Generator(seed);
                TestImages.Write(Path.Combine(_dir.Path, cls, $"{i}.png"), w, h, (_, _) =>
                {
                    var hot = (byte)(150 + noise.NextInt(100));
                    var cold = (byte)noise.NextInt(110);
                    var mid = (byte)noise.NextInt(256);
                    return warm ? new SKColor(hot, mid, cold) : new SKColor(cold, mid, hot);
                });
            }
        }
    }

    [Fact]
    public void PngsOnDiskTrainAndEvaluateALinearClassifier()
    {
        WritePhotos();
        var data = Datasets.Load("image-folder", _dir.Path, new ImageFolderOptions { Height = 8, Width = 8, Seed = 3, TestFraction = 0.25 });
        Assert.Equal(["cool", "warm"], data.Train.ClassNames);
        Assert.Equal([9, 9], data.Train.ClassCounts());
        Assert.Equal([3, 3], data.Test.ClassCounts());

        var norm = data.Train.ComputeNormalization();
        var augment = AugmentSpec.Parse("standard,jitter(0.1)", data.Name, data.Train.ImageShape);
        Assert.Equal("flip,crop(8,1),jitter(0.1)", augment.ToString());
        var train = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = 6, Seed = 1, Normalize = norm, Augmentation = augment });
        var test = new DataLoader(data.Test, new DataLoaderOptions { BatchSize = 4, Shuffle = false, Normalize = norm });

        var model = new Sequential(new Flatten(), new Linear(3 * 8 * 8, 2, generator: new Generator(2)));
        double firstLoss = 0, lastLoss = 0;
        for (var epoch = 0; epoch < 8; epoch++)
        {
            foreach (var batch in train.Epoch(epoch))
            {
                Assert.Equal(new Shape(batch.Size, 3, 8, 8), batch.Images.Shape);
                model.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Forward(batch.Images), batch.Labels);
                loss.Backward();
                foreach (var p in model.Parameters())
                {
                    var grad = p.Grad!.AsSpan();
                    var values = p.AsSpan();
                    for (var i = 0; i < values.Length; i++) values[i] -= 0.05f * grad[i];
                }
                lastLoss = loss.ToArray()[0];
                if (epoch == 0 && firstLoss == 0) firstLoss = lastLoss;
            }
        }
        Assert.True(lastLoss < firstLoss, $"loss fell from {firstLoss} to {lastLoss}");

        var correct = 0;
        using (Loom.Autograd.NoGrad())
        {
            foreach (var batch in test.Epoch(0))
            {
                var predicted = model.Forward(batch.Images).ArgMax(1).ToIntArray();
                var labels = batch.Labels.ToIntArray();
                for (var i = 0; i < labels.Length; i++) correct += predicted[i] == labels[i] ? 1 : 0;
            }
        }
        Assert.Equal(data.Test.Count, correct);
    }
}
