using Loom.Data;

namespace Loom.Tests.Training;

/// <summary>
/// Two Gaussian blobs of 1×4×4 "images", learnable in a few steps: class 1 is brighter. With <c>sparse</c> only every
/// third pixel carries the class offset (the trainer tests' data); without it every pixel does.
/// </summary>
internal static class BlobImages
{
    public static ImageDataset Make(int count, ulong seed, string name, bool sparse = true)
    {
        var g = new Generator(seed);
        var images = new float[count * 16];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            for (var k = 0; k < 16; k++)
                images[(i * 16) + k] = (float)((g.NextNormal() * 0.5) + ((labels[i] == 1 ? 0.8 : -0.8) * (!sparse || k % 3 == 0 ? 1 : 0)));
        }
        return new ImageDataset(name, images, labels, 1, 4, 4, ["a", "b"]);
    }

    /// <summary>A train split of <paramref name="trainCount"/> (seed 1) and a test split of <paramref name="testCount"/> (seed 2).</summary>
    public static ImageSplits Splits(int trainCount, int testCount, bool sparse = true) =>
        new("blobs", "generated", Make(trainCount, 1, "train", sparse), Make(testCount, 2, "test", sparse));
}
