using Loom.Data;

namespace Loom.Training;

/// <summary>A batch for training or evaluation: model inputs and int32 class targets (−100 = ignore).</summary>
public sealed record TrainBatch(Tensor Inputs, Tensor Targets);

/// <summary>
/// What the <see cref="Trainer"/> trains on: seeded training batches per epoch (resumable at a batch index), a fixed
/// test set, and the number of classes. Images and generated sequence tasks both implement it.
/// </summary>
public interface ITrainingData
{
    /// <summary>Short name for reports (<c>digits</c>, <c>temporal-order</c>).</summary>
    string Name { get; }

    /// <summary>Number of classes C (the doctor compares the first loss with ln C).</summary>
    int NumClasses { get; }

    /// <summary>Number of training batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The training batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on; same seed, same batches.</summary>
    IEnumerable<TrainBatch> TrainEpoch(int epoch, int startBatch = 0);

    /// <summary>The test (validation) batches, always the same.</summary>
    IEnumerable<TrainBatch> TestBatches();

    /// <summary>Number of test samples.</summary>
    int TestCount { get; }
}

/// <summary>Image classification on an <see cref="ImageSplits"/> (digits, Fashion-MNIST, image folders).</summary>
public sealed class ImageClassificationData : ITrainingData
{
    private readonly DataLoader _train;
    private readonly DataLoader _test;

    public ImageClassificationData(ImageSplits splits, DataLoaderOptions trainOptions, int testBatchSize = 500)
    {
        Splits = splits;
        _train = new DataLoader(splits.Train, trainOptions);
        _test = new DataLoader(splits.Test, new DataLoaderOptions
        {
            BatchSize = testBatchSize,
            Shuffle = false,
            Prefetch = trainOptions.Prefetch,
            Normalize = trainOptions.Normalize,
        });
    }

    public ImageSplits Splits { get; }

    public string Name => Splits.Name;

    public int NumClasses => Splits.Train.NumClasses;

    public int BatchesPerEpoch => _train.BatchesPerEpoch;

    public int TestCount => Splits.Test.Count;

    public IEnumerable<TrainBatch> TrainEpoch(int epoch, int startBatch = 0)
    {
        foreach (var b in _train.Epoch(epoch, startBatch)) yield return new TrainBatch(b.Images, b.Labels);
    }

    public IEnumerable<TrainBatch> TestBatches()
    {
        foreach (var b in _test.Epoch(0)) yield return new TrainBatch(b.Images, b.Labels);
    }
}
