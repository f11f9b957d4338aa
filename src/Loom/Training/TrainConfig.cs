using System.Text.Json;
using System.Text.Json.Serialization;

namespace Loom.Training;

/// <summary>Per-channel normalisation recorded in <c>config.json</c> so evaluation and export see the same inputs.</summary>
public sealed record NormalizeConfig(
    [property: JsonPropertyName("mean")] IReadOnlyList<float> Mean,
    [property: JsonPropertyName("std")] IReadOnlyList<float> Std);

/// <summary>
/// Every setting of a training run; saved as <c>config.json</c> in the run directory, read back by
/// <c>loom eval</c> and <c>loom train --resume</c>.
/// </summary>
public sealed record TrainConfig
{
    [JsonPropertyName("data")] public string Data { get; init; } = "digits";

    [JsonPropertyName("data_dir")] public string? DataDir { get; init; }

    [JsonPropertyName("model")] public string Model { get; init; } = "smallcnn";

    /// <summary>The model spec the preset or argument resolved to (what <c>loom summary</c> takes).</summary>
    [JsonPropertyName("model_spec")] public string ModelSpec { get; init; } = "";

    [JsonPropertyName("input_shape")] public IReadOnlyList<int> InputShape { get; init; } = [];

    [JsonPropertyName("num_classes")] public int NumClasses { get; init; }

    [JsonPropertyName("class_names")] public IReadOnlyList<string> ClassNames { get; init; } = [];

    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 2;

    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;

    [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "adam";

    /// <summary>Learning rate (the peak rate under the default one-cycle schedule).</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 3e-3;

    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;

    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }

    /// <summary>
    /// Default one-cycle (warm up to <see cref="Lr"/>, then anneal): on the built-in digits it reaches 97 % in two
    /// epochs where a constant Adam 1e-3 (Loom and PyTorch alike) stops near 96 %.
    /// </summary>
    [JsonPropertyName("schedule")] public string Schedule { get; init; } = "onecycle";

    [JsonPropertyName("warmup_epochs")] public int WarmupEpochs { get; init; }

    /// <summary>Clip the gradients' global L2 norm to this value (0: no clipping).</summary>
    [JsonPropertyName("clip")] public double Clip { get; init; }

    [JsonPropertyName("label_smoothing")] public double LabelSmoothing { get; init; }

    [JsonPropertyName("augment")] public string Augment { get; init; } = "none";

    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1;

    [JsonPropertyName("threads")] public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary><c>diverged</c> (default): stop when the loss or a gradient becomes NaN/inf; <c>none</c>: go on.</summary>
    [JsonPropertyName("stop_on")] public string StopOn { get; init; } = "diverged";

    [JsonPropertyName("normalize")] public NormalizeConfig? Normalize { get; init; }

    /// <summary>Sequence tasks: hidden size of the recurrent model (null for image data).</summary>
    [JsonPropertyName("hidden")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Hidden { get; init; }

    /// <summary>Sequence tasks: stacked layers (rnn, rnn-relu, lstm, gru).</summary>
    [JsonPropertyName("layers")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Layers { get; init; }

    /// <summary>temporal-order: the level (easy, normal, moderate, hard, nightmare).</summary>
    [JsonPropertyName("level")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Level { get; init; }

    /// <summary>echo, echo-bits: the fixed delay.</summary>
    [JsonPropertyName("delay")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Delay { get; init; }

    /// <summary>echo: the largest delay of the variable-delay variant.</summary>
    [JsonPropertyName("max_delay")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? MaxDelay { get; init; }

    /// <summary>attention-rnn: how many past states each step attends to.</summary>
    [JsonPropertyName("k")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? K { get; init; }

    /// <summary>image-folder: every image's size [H, W] after resizing (default 32×32).</summary>
    [JsonPropertyName("image_size")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<int>? ImageSize { get; init; }

    /// <summary>image-folder: one luma channel instead of R, G, B (default false).</summary>
    [JsonPropertyName("grayscale")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Grayscale { get; init; }

    /// <summary>image-folder: how images of another aspect ratio are fitted: stretch (default), center-crop or pad.</summary>
    [JsonPropertyName("resize")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Resize { get; init; }

    /// <summary>Task-specific settings (sequence tasks: level, delay, hidden size…).</summary>
    [JsonPropertyName("extra")] public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static TrainConfig FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainConfig>(json, JsonOptions) ?? throw new LoomException($"config: {source} is empty");
        }
        catch (JsonException e)
        {
            throw new LoomException($"config: {source} is not a valid Loom config: {e.Message}", e);
        }
    }

    /// <summary>Checks the numbers a user typed; each error names the setting and the value.</summary>
    public void Validate()
    {
        if (Epochs <= 0) throw new LoomException($"--epochs must be positive, found {Epochs}");
        if (BatchSize <= 0) throw new LoomException($"--batch-size must be positive, found {BatchSize}");
        if (!(Lr > 0) || double.IsInfinity(Lr)) throw new LoomException($"--lr must be a positive number, found {Lr}");
        if (WeightDecay < 0) throw new LoomException($"--weight-decay must be non-negative, found {WeightDecay}");
        if (Clip < 0) throw new LoomException($"--clip must be non-negative (0 = no clipping), found {Clip}");
        if (Threads <= 0) throw new LoomException($"--threads must be positive, found {Threads}");
        if (LabelSmoothing is < 0 or > 1) throw new LoomException($"--label-smoothing must be in [0, 1], found {LabelSmoothing}");
        if (Hidden is <= 0) throw new LoomException($"--hidden must be positive, found {Hidden}");
        if (Layers is < 1) throw new LoomException($"--layers must be at least 1, found {Layers}");
        if (K is < 1) throw new LoomException($"--k must be at least 1, found {K}");
        if (Delay is < 0) throw new LoomException($"--delay must not be negative, found {Delay}");
        if (MaxDelay is < 0) throw new LoomException($"--max-delay must not be negative, found {MaxDelay}");
        if (ImageSize is { } size && (size.Count != 2 || size[0] <= 0 || size[1] <= 0))
            throw new LoomException($"--image-size must be two positive numbers H×W, found [{string.Join(", ", size)}]");
        if (Resize is not null) Loom.Data.ImageResizes.Parse(Resize);
        if (StopOn is not ("diverged" or "none")) throw new LoomException($"--stop-on must be 'diverged' or 'none', found '{StopOn}'");
    }
}
