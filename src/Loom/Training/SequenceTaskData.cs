using Loom.Data.Sequences;
using Loom.Nn;

namespace Loom.Training;

/// <summary>
/// A generated sequence task (<see cref="ISequenceTask"/>) as training data: seeded training epochs, resumable at a
/// batch, and the task's fixed test set. <see cref="Create"/> builds the task named by a <see cref="TrainConfig"/>
/// (<c>temporal-order</c>, <c>echo</c>, <c>echo-bits</c>) and <see cref="CreateModel"/> its recurrent classifier.
/// </summary>
public sealed class SequenceTaskData : ITrainingData
{
    /// <summary>The task names <c>--data</c> accepts.</summary>
    public static IReadOnlyList<string> TaskNames { get; } = ["temporal-order", "echo", "echo-bits"];

    /// <summary>The recurrent models <c>--model</c> accepts with a sequence task.</summary>
    public static IReadOnlyList<string> ModelNames => RecurrentModels.Names;

    private readonly IReadOnlyList<SequenceBatch> _test;

    public SequenceTaskData(ISequenceTask task)
    {
        Task = task;
        _test = task.TestBatches();
        TestCount = _test.Sum(b => b.Count);
    }

    public ISequenceTask Task { get; }

    public string Name => Task.Name;

    public int NumClasses => Task.NumClasses;

    public int BatchesPerEpoch => Task.BatchesPerEpoch;

    /// <summary>Number of test sequences.</summary>
    public int TestCount { get; }

    public IEnumerable<TrainBatch> TrainEpoch(int epoch, int startBatch = 0)
    {
        foreach (var b in Task.Epoch(epoch, startBatch)) yield return new TrainBatch(b.Inputs, b.Targets);
    }

    public IEnumerable<TrainBatch> TestBatches()
    {
        foreach (var b in _test) yield return new TrainBatch(b.Inputs, b.Targets);
    }

    /// <summary>Whether <paramref name="data"/> names a sequence task.</summary>
    public static bool IsSequenceTask(string data) => TaskNames.Contains(data);

    /// <summary>Whether <paramref name="model"/> names a recurrent model.</summary>
    public static bool IsRecurrentModel(string model) => ModelNames.Contains(model);

    /// <summary>
    /// The config with the task's settings filled in (hidden, layers, level, delay, k: the defaults where not given)
    /// after checking them; each error names the value.
    /// </summary>
    public static TrainConfig Resolve(TrainConfig config)
    {
        var data = config.Data;
        if (!IsSequenceTask(data)) throw new LoomException($"--data {data} is not a sequence task; known: {string.Join(", ", TaskNames)}");
        if (!IsRecurrentModel(config.Model))
            throw new LoomException($"--model {config.Model}: --data {data} is a sequence task and needs a recurrent model: {string.Join(", ", ModelNames)}");
        if (config.Level is not null && data != "temporal-order") throw new LoomException($"--level {config.Level} applies to temporal-order, not {data}");
        if (config.MaxDelay is not null && data != "echo") throw new LoomException($"--max-delay {config.MaxDelay} applies to echo, not {data}");
        if (config.Delay is not null && data == "temporal-order") throw new LoomException($"--delay {config.Delay} applies to echo and echo-bits, not {data}");
        if (config.Delay is not null && config.MaxDelay is not null) throw new LoomException($"--delay {config.Delay} and --max-delay {config.MaxDelay} exclude each other");
        if (config.K is not null && config.Model != "attention-rnn") throw new LoomException($"--k {config.K} applies to attention-rnn, not {config.Model}");
        if (config.Level is { } level && !TemporalOrder.LevelNames.Contains(level))
            throw new LoomException($"--level {level} is unknown; known: {string.Join(", ", TemporalOrder.LevelNames)}");
        return config with
        {
            Hidden = config.Hidden ?? DefaultHidden(data, config.MaxDelay),
            Layers = config.Layers ?? DefaultLayers(data, config.Model, config.MaxDelay),
            Level = data == "temporal-order" ? config.Level ?? "normal" : null,
            Delay = data switch
            {
                "echo" => config.MaxDelay is null ? config.Delay ?? 4 : null,
                "echo-bits" => config.Delay ?? 3,
                _ => null,
            },
            K = config.Model == "attention-rnn" ? config.K ?? 2 : null,
        };
    }

    /// <summary>
    /// The default hidden size of a task: temporal-order 16, echo 64 (128 with a variable delay, <paramref name="maxDelay"/>
    /// given), echo-bits 8.
    /// </summary>
    public static int DefaultHidden(string data, int? maxDelay = null) => data switch
    {
        "echo" => maxDelay is null ? 64 : 128,
        "echo-bits" => 8,
        _ => 16,
    };

    /// <summary>
    /// The default number of stacked layers: 1, except echo with a variable delay, where rnn, rnn-relu, lstm and gru get 2.
    /// There the output at step t is the letter d steps back, d read from the input, and the head is linear: one layer
    /// must both hold the last M letters and pick the d-th into its state; a second layer does the picking. Measured
    /// with GRU, M = 8, Adam, cosine from 1e-2: H = 128 one layer 0.946 after 100 epochs, two layers 0.989 after 100
    /// and 0.998 after 200.
    /// </summary>
    public static int DefaultLayers(string data, string model, int? maxDelay = null) =>
        data == "echo" && maxDelay is not null && model is "rnn" or "rnn-relu" or "lstm" or "gru" ? 2 : 1;

    /// <summary>
    /// The default epochs of a task (Adam, cosine from 1e-2): temporal-order 50 (LSTM, normal: 1.0 in 4 s),
    /// echo 100 (GRU, delay 4: 0.9998 in 8 s; 200 with a variable delay: 0.998 for M = 8), echo-bits 10
    /// (8-unit ReLU RNN: ≥ 0.999).
    /// </summary>
    public static int DefaultEpochs(string data, int? maxDelay = null) => data switch
    {
        "echo" => maxDelay is null ? 100 : 200,
        "echo-bits" => 10,
        _ => 50,
    };

    /// <summary>The default model of a task: temporal-order lstm, echo gru, echo-bits rnn-relu.</summary>
    public static string DefaultModel(string data) => data switch
    {
        "echo" => "gru",
        "echo-bits" => "rnn-relu",
        _ => "lstm",
    };

    /// <summary>The task of a resolved config (see <see cref="Resolve"/>), seeded with its seed.</summary>
    public static SequenceTaskData Create(TrainConfig resolved, int? batchSize = null)
    {
        var b = batchSize ?? resolved.BatchSize;
        ISequenceTask task = resolved.Data switch
        {
            "temporal-order" => new TemporalOrder(resolved.Level ?? "normal", resolved.Seed, b),
            "echo" when resolved.MaxDelay is { } m => Echo.WithMaxDelay(m, resolved.Seed, b),
            "echo" => new Echo(resolved.Delay ?? 4, resolved.Seed, b),
            "echo-bits" => new EchoBits(resolved.Seed, resolved.Delay ?? 3, b),
            _ => throw new LoomException($"--data {resolved.Data} is not a sequence task; known: {string.Join(", ", TaskNames)}"),
        };
        return new SequenceTaskData(task);
    }

    /// <summary>The class names of a task (temporal-order Q R S U; echo blank, a … z; echo-bits 0, 1).</summary>
    public IReadOnlyList<string> ClassNames => Task.Name switch
    {
        "temporal-order" => TemporalOrder.ClassNames,
        "echo" => ["blank", .. Enumerable.Range(0, 26).Select(i => ((char)('a' + i)).ToString())],
        _ => [.. Enumerable.Range(0, Task.NumClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
    };

    /// <summary>
    /// A fresh recurrent classifier for this task: <c>RecurrentModels.Create</c> with the config's model, hidden size,
    /// layers and k, and a linear head (per step for echo and echo-bits); echo-bits carries its state across batches.
    /// </summary>
    public SequenceClassifier CreateModel(TrainConfig resolved)
    {
        var rnn = RecurrentModels.Create(resolved.Model, Task.InputSize, resolved.Hidden ?? DefaultHidden(Task.Name, resolved.MaxDelay),
            resolved.Layers ?? DefaultLayers(Task.Name, resolved.Model, resolved.MaxDelay), resolved.K ?? 2);
        return new SequenceClassifier(rnn, Task.NumClasses, perStep: Task.Targets == TargetKind.PerStep) { CarryState = Task.CarriesState };
    }
}
