using Loom.Data;
using Loom.Nn;
using Loom.Nn.Spec;

namespace Loom.Training;

/// <summary>
/// Turns a <see cref="TrainConfig"/> into a ready <see cref="Trainer"/>: loads the data, resolves and builds the
/// model, writes <c>config.json</c>; or reopens a run directory to resume or evaluate it.
/// </summary>
public sealed class TrainingSession
{
    private TrainingSession(TrainConfig config, RunDirectory run, ITrainingData data, Module model)
    {
        Config = config;
        Run = run;
        Data = data;
        Model = model;
    }

    public TrainConfig Config { get; }

    public RunDirectory Run { get; }

    public ITrainingData Data { get; }

    public Module Model { get; }

    /// <summary>A new run: seeds everything from <see cref="TrainConfig.Seed"/>, builds data and model, saves config.json.</summary>
    public static TrainingSession Create(TrainConfig config, string runPath)
    {
        config.Validate();
        Threads.Count = config.Threads;
        Rng.ManualSeed(config.Seed);
        var (data, resolved) = LoadData(config);
        var run = new RunDirectory(runPath);
        if (File.Exists(run.Checkpoint))
            throw new LoomException($"run: {run.Path} already holds a run (checkpoint.safetensors); use --resume {run.Path} or another --out");
        var model = BuildModel(resolved, data);
        Directory.CreateDirectory(run.Path);
        AtomicFile.WriteAllText(run.Config, resolved.ToJson());
        return new TrainingSession(resolved, run, data, model);
    }

    /// <summary>Reopens an existing run (for --resume and eval) with its saved config.</summary>
    public static TrainingSession Open(string runPath, string? dataOverride = null, string? dataDirOverride = null)
    {
        var run = new RunDirectory(runPath);
        if (!Directory.Exists(run.Path)) throw new LoomException($"run: {run.Path} does not exist");
        var config = run.ReadConfig();
        if (dataOverride is not null)
        {
            // Another image-folder keeps the run's image settings (the model expects that input); other data has none.
            var keepImageSettings = dataOverride == "image-folder";
            config = config with
            {
                Data = dataOverride,
                DataDir = dataDirOverride ?? config.DataDir,
                ImageSize = keepImageSettings ? config.ImageSize : null,
                Grayscale = keepImageSettings ? config.Grayscale : null,
                Resize = keepImageSettings ? config.Resize : null,
            };
        }
        else if (dataDirOverride is not null)
        {
            config = config with { DataDir = dataDirOverride };
        }
        Threads.Count = config.Threads;
        Rng.ManualSeed(config.Seed);
        var (data, resolved) = LoadData(config);
        if (resolved.NumClasses != config.NumClasses || !resolved.InputShape.SequenceEqual(config.InputShape))
            throw new LoomException($"eval: data '{resolved.Data}' has inputs [{string.Join(", ", resolved.InputShape)}] and {resolved.NumClasses} classes; the run was trained on [{string.Join(", ", config.InputShape)}] and {config.NumClasses}");
        var model = BuildModel(config, data);
        return new TrainingSession(config, run, data, model);
    }

    /// <summary>Loads the trained weights (model.safetensors) into <see cref="Model"/>.</summary>
    public void LoadWeights()
    {
        if (!File.Exists(Run.Model)) throw new LoomException($"run: {Run.Path} has no model.safetensors (did training finish? a checkpoint may be resumed with --resume)");
        Model.LoadStateDict(Interop.Safetensors.Load(Run.Model).Tensors);
    }

    public Trainer CreateTrainer(ITrainingObserver? observer = null) => new(Model, Data, Config, Run, observer);

    private static Module BuildModel(TrainConfig config, ITrainingData data) => data is SequenceTaskData sequences
        ? sequences.CreateModel(config)
        : ModelBuilder.Build(config.ModelSpec, new Shape([.. config.InputShape])).Model;

    private static (ITrainingData Data, TrainConfig Resolved) LoadData(TrainConfig config)
    {
        if (SequenceTaskData.IsSequenceTask(config.Data))
        {
            var seqConfig = SequenceTaskData.Resolve(config);
            var seqData = SequenceTaskData.Create(seqConfig);
            return (seqData, seqConfig with
            {
                ModelSpec = "",
                InputShape = [seqData.Task.InputSize],
                NumClasses = seqData.NumClasses,
                ClassNames = seqData.ClassNames,
                Normalize = null,
                Augment = "none",
            });
        }
        if (SequenceTaskData.IsRecurrentModel(config.Model))
            throw new LoomException($"--model {config.Model} is a recurrent model for the sequence tasks ({string.Join(", ", SequenceTaskData.TaskNames)}); --data {config.Data} is image data");
        if (config.Hidden is not null || config.Level is not null || config.Delay is not null || config.MaxDelay is not null || config.K is not null || config.Layers is not null)
            throw new LoomException($"--hidden, --layers, --level, --delay, --max-delay and --k apply to the sequence tasks ({string.Join(", ", SequenceTaskData.TaskNames)}), not to --data {config.Data}");
        var imageFolder = ImageFolderSettings(config);
        var splits = Datasets.Load(config.Data, config.DataDir, imageFolder);
        var norm = config.Normalize is { } n ? new Normalization(n.Mean, n.Std) : splits.Train.ComputeNormalization();
        var augment = Loom.Data.Augment.AugmentSpec.Parse(config.Augment, config.Data, splits.Train.ImageShape);
        ITrainingData data;
        if (augment.Steps.Count == 0)
        {
            // Normalise once up front: the cheapest path when nothing random touches the pixels.
            data = new ImageClassificationData(splits.Normalized(norm), new DataLoaderOptions { BatchSize = config.BatchSize, Shuffle = true, Seed = config.Seed });
        }
        else
        {
            // Augment raw [0, 1] pixels (crops pad with black, jitter sees real colours), then normalise per batch.
            data = new ImageClassificationData(splits, new DataLoaderOptions
            {
                BatchSize = config.BatchSize,
                Shuffle = true,
                Seed = config.Seed,
                Normalize = norm,
                Augmentation = augment,
            });
        }
        var resolved = config with
        {
            ModelSpec = config.ModelSpec.Length > 0 ? config.ModelSpec : Presets.Resolve(config.Model, splits.Train.NumClasses),
            InputShape = splits.Train.ImageShape.ToArray(),
            NumClasses = splits.Train.NumClasses,
            ClassNames = [.. splits.Train.ClassNames],
            Normalize = new NormalizeConfig([.. norm.Mean], [.. norm.Std]),
            Augment = augment.Steps.Count == 0 ? "none" : augment.ToString(),
            ImageSize = imageFolder is null ? null : [imageFolder.Height, imageFolder.Width],
            Grayscale = imageFolder?.Grayscale,
            Resize = imageFolder is null ? null : ImageResizes.Name(imageFolder.Resize),
        };
        return (data, resolved);
    }

    /// <summary>
    /// The image-folder reading settings of <paramref name="config"/> with their defaults (32×32, colour, stretch),
    /// null for other data; there they are an error, since they would be silently ignored.
    /// </summary>
    private static ImageFolderOptions? ImageFolderSettings(TrainConfig config)
    {
        if (config.Data != "image-folder")
        {
            if (config.ImageSize is not null || config.Grayscale is not null || config.Resize is not null)
                throw new LoomException($"--image-size, --grayscale and --resize apply to --data image-folder, not to --data {config.Data}");
            return null;
        }
        var defaults = new ImageFolderOptions();
        return defaults with
        {
            Height = config.ImageSize?[0] ?? defaults.Height,
            Width = config.ImageSize?[1] ?? defaults.Width,
            Grayscale = config.Grayscale ?? defaults.Grayscale,
            Resize = config.Resize is null ? defaults.Resize : ImageResizes.Parse(config.Resize),
        };
    }
}
