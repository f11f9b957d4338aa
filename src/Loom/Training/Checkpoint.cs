using System.Globalization;
using System.Text.Json;
using Loom.Interop;
using Loom.Optim;

namespace Loom.Training;

/// <summary>Where a run stands: the next batch to run is batch <see cref="Batch"/> of epoch <see cref="Epoch"/>.</summary>
public sealed record TrainingPosition(int Epoch, int Batch, long Step, double ElapsedSeconds);

/// <summary>
/// A resumable snapshot of a run in one safetensors file: the model's state dict under <c>model/</c>, the optimiser's
/// tensors under <c>optimizer/</c>, and in the metadata the position, the optimiser's and scheduler's scalars (JSON)
/// and the global RNG state (dropout). Written atomically, so the previous checkpoint survives a crash mid-write.
/// </summary>
public static class Checkpoint
{
    public const string FileName = "checkpoint.safetensors";
    private const string Format = "loom-checkpoint-1";

    public static void Save(string path, Nn.Module model, Optimizer optimizer, ILrScheduler? scheduler, TrainingPosition position)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, v) in model.StateDict()) tensors["model/" + k] = v;
        var optState = optimizer.StateDict();
        foreach (var (k, v) in optState.Tensors) tensors["optimizer/" + k] = v;
        // A model that carries state across batches (truncated BPTT) is mid-series after an interruption: keep it.
        if (model is Nn.IStatefulModel stateful)
            foreach (var (k, v) in stateful.CarriedState()) tensors["carried/" + k] = v;
        var rng = Rng.Global.GetState();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["epoch"] = position.Epoch.ToString(CultureInfo.InvariantCulture),
            ["batch"] = position.Batch.ToString(CultureInfo.InvariantCulture),
            ["step"] = position.Step.ToString(CultureInfo.InvariantCulture),
            ["elapsed_seconds"] = position.ElapsedSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["optimizer"] = optState.ToJson(),
            ["scheduler"] = scheduler?.StateDict().ToJson() ?? "",
            ["rng"] = JsonSerializer.Serialize(new[] { rng.S0, rng.S1, rng.S2, rng.S3 }),
            ["rng_spare_normal"] = rng.SpareNormal?.ToString("R", CultureInfo.InvariantCulture) ?? "",
        };
        Safetensors.Save(path, tensors, metadata);
    }

    /// <summary>Restores model, optimiser, scheduler and RNG from <paramref name="path"/>; returns where to continue.</summary>
    public static TrainingPosition Load(string path, Nn.Module model, Optimizer optimizer, ILrScheduler? scheduler)
    {
        if (!File.Exists(path)) throw new LoomException($"checkpoint: {path} does not exist");
        var content = Safetensors.Load(path);
        var meta = content.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new LoomException($"checkpoint: {path} is not a Loom checkpoint (metadata 'format' is '{format}', expected '{Format}')");
        var modelState = content.Tensors.Where(t => t.Key.StartsWith("model/", StringComparison.Ordinal))
            .ToDictionary(t => t.Key["model/".Length..], t => t.Value);
        model.LoadStateDict(modelState, strict: true);
        var optTensors = content.Tensors.Where(t => t.Key.StartsWith("optimizer/", StringComparison.Ordinal))
            .ToDictionary(t => t.Key["optimizer/".Length..], t => t.Value);
        optimizer.LoadStateDict(OptimizerStateDict.FromJson(Get(meta, "optimizer", path), optTensors));
        if (model is Nn.IStatefulModel stateful)
        {
            stateful.LoadCarriedState(content.Tensors.Where(t => t.Key.StartsWith("carried/", StringComparison.Ordinal))
                .ToDictionary(t => t.Key["carried/".Length..], t => t.Value));
        }
        var schedulerJson = Get(meta, "scheduler", path);
        if (scheduler is not null && schedulerJson.Length > 0) scheduler.LoadStateDict(SchedulerStateDict.FromJson(schedulerJson));
        var rng = JsonSerializer.Deserialize<ulong[]>(Get(meta, "rng", path)) ?? [];
        if (rng.Length != 4) throw new LoomException($"checkpoint: {path}: rng state must hold 4 numbers");
        var spare = Get(meta, "rng_spare_normal", path);
        Rng.Global.SetState(new GeneratorState(rng[0], rng[1], rng[2], rng[3], spare.Length == 0 ? null : double.Parse(spare, CultureInfo.InvariantCulture)));
        return new TrainingPosition(
            int.Parse(Get(meta, "epoch", path), CultureInfo.InvariantCulture),
            int.Parse(Get(meta, "batch", path), CultureInfo.InvariantCulture),
            long.Parse(Get(meta, "step", path), CultureInfo.InvariantCulture),
            double.Parse(Get(meta, "elapsed_seconds", path), CultureInfo.InvariantCulture));
    }

    private static string Get(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new LoomException($"checkpoint: {path} lacks metadata '{key}'");
}
