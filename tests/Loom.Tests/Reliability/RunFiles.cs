using System.Globalization;
using Loom.Interop;
using Loom.Nn.Spec;
using Loom.Optim;
using Loom.Training;

namespace Loom.Tests.Reliability;

/// <summary>
/// Checks that a run directory left by a killed process is usable: its config parses, its history reads (a torn
/// last line is allowed: the next resume drops it), and its checkpoint and model load into the model the config
/// describes. Uses an explicit generator so that it never touches the global RNG other tests in this process use.
/// </summary>
internal static class RunFiles
{
    public static void AssertLoadable(string runDir)
    {
        var run = new RunDirectory(runDir);
        var config = run.ReadConfig();
        if (File.Exists(run.History)) _ = History.ReadRecoverable(run.History);
        global::Loom.Nn.Module Fresh() => ModelBuilder.Build(config.ModelSpec, new Shape([.. config.InputShape]), new Generator(0)).Model;
        if (File.Exists(run.Checkpoint))
        {
            var content = Safetensors.Load(run.Checkpoint);
            Assert.Equal("loom-checkpoint-1", content.Metadata["format"]);
            var weights = content.Tensors.Where(t => t.Key.StartsWith("model/", StringComparison.Ordinal)).ToDictionary(t => t.Key["model/".Length..], t => t.Value);
            Fresh().LoadStateDict(weights, strict: true);
            var optimizer = content.Tensors.Where(t => t.Key.StartsWith("optimizer/", StringComparison.Ordinal)).ToDictionary(t => t.Key["optimizer/".Length..], t => t.Value);
            _ = OptimizerStateDict.FromJson(content.Metadata["optimizer"], optimizer);
            Assert.True(long.Parse(content.Metadata["step"], CultureInfo.InvariantCulture) >= 0);
        }
        if (File.Exists(run.Model)) Fresh().LoadStateDict(Safetensors.Load(run.Model).Tensors, strict: true);
    }

    /// <summary>The position a checkpoint records: (epoch, batch, step).</summary>
    public static (int Epoch, int Batch, long Step) Position(string runDir)
    {
        var meta = Safetensors.Load(new RunDirectory(runDir).Checkpoint).Metadata;
        return (int.Parse(meta["epoch"], CultureInfo.InvariantCulture), int.Parse(meta["batch"], CultureInfo.InvariantCulture), long.Parse(meta["step"], CultureInfo.InvariantCulture));
    }
}
