using System.Runtime.ExceptionServices;
using Loom.Data.Augment;

namespace Loom.Data;

/// <summary>Settings of a <see cref="DataLoader"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Draw a new order each epoch (training); false keeps the dataset's order (evaluation).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Leave out the last batch when it would be smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>The seed every epoch's order derives from (<see cref="DataLoader.EpochSeed"/>).</summary>
    public ulong Seed { get; init; }

    /// <summary>Assemble the next batch on a worker thread while the current one is used. Results are identical either way.</summary>
    public bool Prefetch { get; init; } = true;

    /// <summary>A normalisation applied to each batch as it is assembled, or null (the dataset's pixels as they are).</summary>
    public Normalization? Normalize { get; init; }

    /// <summary>
    /// A random transformation of each image as its batch is assembled, before <see cref="Normalize"/>, or null.
    /// Image i of batch b in epoch e draws from a generator seeded with <see cref="DataLoader.AugmentSeed"/>(e,
    /// b·B + i), so the result depends on nothing but the seed, the epoch and the position. It must keep the
    /// image's shape.
    /// </summary>
    public Augmentation? Augmentation { get; init; }
}

/// <summary>One batch: images [B, C, H, W] float32 and labels [B] Int32, the <see cref="Index"/>-th batch of <see cref="Epoch"/>.</summary>
public sealed record Batch(Tensor Images, Tensor Labels, int Epoch, int Index)
{
    /// <summary>The number of images B (the last batch of an epoch may be smaller).</summary>
    public int Size => Labels.Numel;
}

/// <summary>
/// Cuts an <see cref="ImageDataset"/> into batches, in a seeded random order per epoch, optionally assembling the
/// next batch in the background.
/// </summary>
/// <remarks>
/// <para>Epoch e's order is <c>new Generator(EpochSeed(e)).Permutation(N)</c>: a pure function of the seed and the
/// epoch number, so a run resumed at (epoch e, batch k) calls <c>Epoch(e, startBatch: k)</c> and sees exactly the
/// batches it would have seen; no generator state needs saving beyond the seed.</para>
/// <para>With <see cref="DataLoaderOptions.Augmentation"/>, each image is transformed as it is copied, drawing from a
/// generator seeded by <see cref="AugmentSeed"/>(epoch, position): also a pure function, so resuming and prefetching
/// change nothing.</para>
/// <para>Each batch allocates its two tensors and nothing else; the order is one array per epoch. Prefetching
/// keeps one batch in flight on the thread pool (a reused work item, no task per batch) and changes no value.</para>
/// <para>Shape: images [B, C, H, W], labels [B]; B = <see cref="DataLoaderOptions.BatchSize"/>, except a smaller
/// last batch when N is not a multiple and <see cref="DataLoaderOptions.DropLast"/> is false.</para>
/// </remarks>
/// <example>
/// <code>
/// var loader = new DataLoader(Datasets.Digits().Train, new DataLoaderOptions { BatchSize = 64, Seed = 1 });
/// foreach (var batch in loader.Epoch(0)) { /* batch.Images [64, 1, 28, 28], batch.Labels [64] */ }
/// </code>
/// </example>
public sealed class DataLoader
{
    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    public DataLoader(ImageDataset dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new DataLoaderOptions();
        if (options.BatchSize <= 0) throw new LoomException($"data loader: batch size {options.BatchSize} must be positive");
        if (dataset.Count == 0) throw new LoomException($"data loader: {dataset.Name} has no images");
        if (options.Normalize is { } norm)
        {
            if (norm.Channels != dataset.Channels)
                throw new LoomException($"data loader: a normalisation of {norm.Channels} channels for {dataset.Name}'s images of {dataset.Channels}");
            if (dataset.Normalization is not null)
                throw new LoomException($"data loader: {dataset.Name} is already normalised ({dataset.Normalization}); normalising twice is a mistake");
        }
        if (options.Augmentation is { } augment)
        {
            var shape = augment.OutputShape(dataset.ImageShape);
            if (shape != dataset.ImageShape)
                throw new LoomException($"data loader: augmentation {augment} turns {dataset.Name}'s {Augmentation.Format(dataset.ImageShape)} images into {Augmentation.Format(shape)}; it must keep their size");
            if (augment.Normalizes && (options.Normalize is not null || dataset.Normalization is not null))
                throw new LoomException($"data loader: augmentation {augment} normalises, and so does {(options.Normalize is not null ? "the loader" : dataset.Name)}; normalising twice is a mistake");
            if (augment.RequiresUnitRange && dataset.Normalization is not null)
                throw new LoomException($"data loader: augmentation {augment} expects pixels in [0, 1] but {dataset.Name} is already normalised; " +
                    "normalise in the loader instead (DataLoaderOptions.Normalize), after the augmentation");
        }
        Dataset = dataset;
        Options = options;
    }

    /// <summary>The dataset batches come from.</summary>
    public ImageDataset Dataset { get; }

    /// <summary>The settings.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches per epoch: ⌈N / B⌉, or ⌊N / B⌋ with drop_last.</summary>
    public int BatchesPerEpoch => Options.DropLast
        ? Dataset.Count / Options.BatchSize
        : (int)(((long)Dataset.Count + Options.BatchSize - 1) / Options.BatchSize);

    /// <summary>
    /// The seed of epoch <paramref name="epoch"/>'s permutation: output e + 1 of SplitMix64 started at
    /// <see cref="DataLoaderOptions.Seed"/>, so epochs draw unrelated orders.
    /// </summary>
    public ulong EpochSeed(int epoch)
    {
        if (epoch < 0) throw new LoomException($"data loader: epoch {epoch} must not be negative");
        var z = Options.Seed + (0x9E3779B97F4A7C15UL * ((ulong)epoch + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// The seed of the augmentation of the image at <paramref name="position"/> (b·B + i for image i of batch b) of
    /// epoch <paramref name="epoch"/>: SplitMix64's finaliser over <see cref="EpochSeed"/>(e) and the position, so it
    /// differs per image and per epoch, and a resumed or prefetched batch draws exactly the same.
    /// </summary>
    public ulong AugmentSeed(int epoch, int position)
    {
        if (position < 0) throw new LoomException($"data loader: position {position} must not be negative");
        var z = (EpochSeed(epoch) ^ 0xD1B54A32D192ED03UL) + (0x9E3779B97F4A7C15UL * ((ulong)position + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the images (0..N−1 without shuffling).</summary>
    public int[] Order(int epoch)
    {
        var seed = EpochSeed(epoch);
        if (Options.Shuffle) return new Generator(seed).Permutation(Dataset.Count);
        var order = new int[Dataset.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        return order;
    }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, from batch <paramref name="startBatch"/> on (to resume a run
    /// inside an epoch). Stop early by leaving the loop; an in-flight prefetch is waited for.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0)
    {
        if (startBatch < 0 || startBatch > BatchesPerEpoch)
            throw new LoomException($"data loader: start batch {startBatch} is outside 0..{BatchesPerEpoch} (batches per epoch)");
        var order = Order(epoch);
        return Options.Prefetch ? Prefetched(order, epoch, startBatch) : Sequential(order, epoch, startBatch);
    }

    private IEnumerable<Batch> Sequential(int[] order, int epoch, int startBatch)
    {
        for (var b = startBatch; b < BatchesPerEpoch; b++) yield return Assemble(order, epoch, b);
    }

    private IEnumerable<Batch> Prefetched(int[] order, int epoch, int startBatch)
    {
        var count = BatchesPerEpoch;
        if (startBatch >= count) yield break;
        using var worker = new PrefetchWorker(this, order, epoch);
        worker.Start(startBatch);
        for (var b = startBatch; b < count; b++)
        {
            var batch = worker.Take();
            if (b + 1 < count) worker.Start(b + 1);
            yield return batch;
        }
    }

    /// <summary>Copies batch <paramref name="index"/> of <paramref name="order"/> into fresh tensors.</summary>
    private Batch Assemble(int[] order, int epoch, int index)
    {
        var start = index * Options.BatchSize;
        var size = Math.Min(Options.BatchSize, order.Length - start);
        var d = Dataset;
        var images = new float[size * d.ImageSize];
        var labels = new int[size];
        if (Options.Augmentation is { } augment)
        {
            var generator = new Generator();
            var imageSize = d.ImageSize;
            for (var i = 0; i < size; i++)
            {
                var source = order[start + i];
                generator.ManualSeed(AugmentSeed(epoch, start + i));
                augment.Apply(d.Image(source), images.AsSpan(i * imageSize, imageSize), d.ImageShape, generator);
                labels[i] = d.Label(source);
            }
        }
        else
        {
            d.CopyTo(order.AsSpan(start, size), images, labels);
        }
        Options.Normalize?.Apply(images, d.Height * d.Width);
        return new Batch(Tensor.Wrap(images, new Shape(size, d.Channels, d.Height, d.Width)), Tensor.Wrap(labels, new Shape(size)), epoch, index);
    }

    /// <summary>Assembles one batch at a time on the thread pool; one instance (and one event) per epoch.</summary>
    private sealed class PrefetchWorker(DataLoader loader, int[] order, int epoch) : IThreadPoolWorkItem, IDisposable
    {
        private readonly ManualResetEventSlim _done = new(initialState: true);
        private int _index;
        private Batch? _result;
        private ExceptionDispatchInfo? _error;

        public void Start(int index)
        {
            _done.Reset();
            _index = index;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        public void Execute()
        {
            try
            {
                _result = loader.Assemble(order, epoch, _index);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                _done.Set();
            }
        }

        public Batch Take()
        {
            _done.Wait();
            _error?.Throw();
            var batch = _result!;
            _result = null;
            return batch;
        }

        /// <summary>Waits for an in-flight batch (the consumer may stop early), then releases the event.</summary>
        public void Dispose()
        {
            _done.Wait();
            _done.Dispose();
        }
    }
}
