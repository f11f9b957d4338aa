using Loom.Optim;

namespace Loom.Training;

/// <summary>Builds the optimiser and schedule a <see cref="TrainConfig"/> names.</summary>
public static class OptimizerFactory
{
    public static readonly string[] Optimizers = ["sgd", "adam", "adamw", "rmsprop"];
    public static readonly string[] Schedules = ["none", "step", "multistep", "cosine", "onecycle", "plateau", "warmup-cosine"];

    public static Optimizer Create(TrainConfig c, IEnumerable<Tensor> parameters) => c.Optimizer.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(parameters, new SgdOptions { Lr = c.Lr, Momentum = c.Momentum, WeightDecay = c.WeightDecay }),
        "adam" => new Adam(parameters, new AdamOptions { Lr = c.Lr, WeightDecay = c.WeightDecay }),
        "adamw" => new AdamW(parameters, new AdamWOptions { Lr = c.Lr, WeightDecay = c.WeightDecay == 0 ? 1e-2 : c.WeightDecay }),
        "rmsprop" => new RmsProp(parameters, new RmsPropOptions { Lr = c.Lr, WeightDecay = c.WeightDecay }),
        _ => throw new LoomException($"--optimizer: unknown optimizer '{c.Optimizer}' (known: {string.Join(", ", Optimizers)})"),
    };

    /// <summary>The schedule and whether it steps per batch (true) or per epoch (false).</summary>
    public static (ILrScheduler? Scheduler, bool PerBatch) CreateSchedule(TrainConfig c, Optimizer optimizer, int batchesPerEpoch)
    {
        var total = Math.Max(1, c.Epochs * batchesPerEpoch);
        switch (c.Schedule.ToLowerInvariant())
        {
            case "none": return (null, false);
            case "step": return (new StepLR(optimizer, Math.Max(1, c.Epochs / 3), 0.1), false);
            case "multistep": return (new MultiStepLR(optimizer, [Math.Max(1, c.Epochs / 2), Math.Max(2, c.Epochs * 3 / 4)], 0.1), false);
            case "cosine": return (new CosineAnnealingLR(optimizer, total), true);
            case "onecycle": return (new OneCycleLR(optimizer, c.Lr, total), true);
            case "plateau": return (new ReduceLROnPlateau(optimizer, patience: 2), false);
            case "warmup-cosine":
                {
                    var warm = Math.Max(1, Math.Max(1, c.WarmupEpochs) * batchesPerEpoch);
                    if (warm >= total) throw new LoomException($"--warmup-epochs {c.WarmupEpochs} leaves no epochs for the cosine phase of {c.Epochs}");
                    var warmup = new LinearLR(optimizer, 0.01, 1.0, warm);
                    var cosine = new CosineAnnealingLR(optimizer, total - warm);
                    return (new SequentialLR(optimizer, [warmup, cosine], [warm]), true);
                }
            default:
                throw new LoomException($"--schedule: unknown schedule '{c.Schedule}' (known: {string.Join(", ", Schedules)})");
        }
    }
}
