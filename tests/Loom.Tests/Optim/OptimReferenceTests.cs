using System.Text.Json;

namespace Loom.Tests.Optim;

/// <summary>Loom's optimisers, schedules and clipping against the PyTorch runs in
/// tests/reference/data/optim/optim_reference.json (float64, 20 optimiser steps, 30 schedule steps).</summary>
public class OptimReferenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-6;

    [Fact]
    public void OptimizersFollowPyTorchForTwentySteps() => CheckOptimizers(OptimReference.CommittedFile);

    [Fact]
    public void SchedulesFollowPyTorch() => CheckSchedules(OptimReference.CommittedFile);

    [Fact]
    public void ClippingFollowsPyTorch() => CheckClips(OptimReference.CommittedFile);

    /// <summary>Reruns the generator with a fresh seed (new parameters and gradient coefficients) and replays it.</summary>
    [Fact]
    public void FreshPyTorchRunAgrees()
    {
        TorchPython.Require();
        var seed = Random.Shared.Next(1, 1_000_000);
        var path = Path.Combine(Path.GetTempPath(), $"loom-optim-reference-{Environment.ProcessId}-{seed}.json");
        try
        {
            var (code, text) = TorchPython.Run([OptimReference.Script, "--seed", seed.ToString(), "--out", path], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"optim_reference.py --seed {seed} failed ({code}):\n{text}");
            output.WriteLine(text.Trim());
            CheckOptimizers(path);
            CheckSchedules(path);
            CheckClips(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private void CheckOptimizers(string path)
    {
        using var doc = OptimReference.Load(path);
        var root = doc.RootElement;
        var failures = new List<string>();
        foreach (var c in root.GetProperty("optimizers").EnumerateArray())
        {
            var dev = OptimReference.ReplayOptimizer(root, c);
            Report(c, dev, failures);
        }
        Assert.True(failures.Count == 0, $"seed {root.GetProperty("seed")}: " + string.Join("; ", failures));
        Assert.True(root.GetProperty("optimizers").GetArrayLength() >= 15);
    }

    private void CheckSchedules(string path)
    {
        using var doc = OptimReference.Load(path);
        var failures = new List<string>();
        foreach (var c in doc.RootElement.GetProperty("schedules").EnumerateArray()) Report(c, OptimReference.ReplaySchedule(c), failures);
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    private void CheckClips(string path)
    {
        using var doc = OptimReference.Load(path);
        var root = doc.RootElement;
        var failures = new List<string>();
        var i = 0;
        foreach (var c in root.GetProperty("clips").EnumerateArray())
        {
            var dev = OptimReference.ReplayClip(root, c);
            var name = c.GetProperty("kind").GetString() == "norm"
                ? $"clip {i++}: norm {c.GetProperty("norm_type")}, max {c.GetProperty("max_norm")}"
                : $"clip {i++}: value {c.GetProperty("clip_value")}";
            output.WriteLine($"{name,-40} max relative deviation {dev:E2}");
            if (!(dev <= Tolerance)) failures.Add($"{name}: {dev:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    private void Report(JsonElement c, double deviation, List<string> failures)
    {
        var name = c.GetProperty("name").GetString();
        output.WriteLine($"{name,-40} max relative deviation {deviation:E2}");
        if (!(deviation <= Tolerance)) failures.Add($"{name}: max relative deviation {deviation:E2} > {Tolerance:E0}");
    }
}
