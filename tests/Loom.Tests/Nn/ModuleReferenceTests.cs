using System.Globalization;
using System.Text.Json;
using Loom.Interop;
using Loom.Nn;
using Loom.Nn.Spec;
using Loom.Tests.Interop;
using Loom.Tests.Reference;

namespace Loom.Tests.Nn;

/// <summary>
/// Modules built from spec strings agree with PyTorch's (tests/reference/modules_reference.py, committed under
/// tests/reference/data/modules, or $LOOM_REFERENCE_DIR/modules when that exists): PyTorch's state dict loads with
/// strict keys into the model <see cref="ModelBuilder"/> builds from the same spec, and after the same warm-up passes
/// the output, ∂ℓ/∂x, every parameter's gradient and every buffer (running statistics, num_batches_tracked) agree —
/// float32 within 1e-4·(1 + |ref|), float64 within 1e-6·(1 + |ref|). Batch norm is covered in train and eval mode.
/// </summary>
public class ModuleReferenceTests
{
    public static TheoryData<string> Families => new(ModuleReplay.Families);

    [Theory]
    [MemberData(nameof(Families))]
    public void Float32AgreesWithPyTorch(string family) => Check(ModuleReplay.Run(ModuleReplay.Dir, family, DType.Float32, 1e-4));

    [Theory]
    [MemberData(nameof(Families))]
    public void Float64AgreesWithPyTorch(string family) => Check(ModuleReplay.Run(ModuleReplay.Dir, family, DType.Float64, 1e-6));

    [Fact]
    public void CommittedSetCoversEveryFamilyAndBatchNormInBothModes()
    {
        var total = 0;
        var modes = new Dictionary<string, int>();
        foreach (var family in ModuleReplay.Families)
        {
            var (_, metadata) = Safetensors.Load(Path.Combine(ModuleReplay.CommittedDir, family + ".safetensors"));
            Assert.Equal(family, metadata["family"]);
            var count = int.Parse(metadata["count"], CultureInfo.InvariantCulture);
            total += count;
            for (var i = 0; i < count; i++)
            {
                using var cfg = JsonDocument.Parse(metadata[$"case{i:D4}"]);
                var spec = cfg.RootElement.GetProperty("spec").GetString()!;
                var key = (spec.Contains("bn", StringComparison.Ordinal) || spec.Contains("basic", StringComparison.Ordinal) ? "bn-" : "") +
                          cfg.RootElement.GetProperty("mode").GetString() + (cfg.RootElement.GetProperty("warmup").GetInt32() > 0 ? "+warmup" : "");
                modes[key] = modes.GetValueOrDefault(key) + 1;
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{total} cases: " + string.Join(", ", modes.OrderBy(m => m.Key).Select(m => $"{m.Key} {m.Value}")));
        Assert.True(total >= 200, $"only {total} committed module cases");
        foreach (var key in new[] { "bn-train", "bn-train+warmup", "bn-eval+warmup" })
            Assert.True(modes.GetValueOrDefault(key) >= 5, $"only {modes.GetValueOrDefault(key)} '{key}' cases");
    }

    /// <summary>
    /// In ceil mode PyTorch pools an input shorter than the kernel when the overhang is below the stride (values from
    /// PyTorch 1.13: F.max_pool1d / F.avg_pool1d on x = [1, 2] or [1], ceil_mode=True).
    /// </summary>
    [Fact]
    public void CeilModePoolsAnInputShorterThanTheKernelAsPyTorch()
    {
        var one = Tensor.FromArray([1f], 1, 1, 1);
        var two = Tensor.FromArray([1f, 2f], 1, 1, 2);
        Assert.Equal([1f], new MaxPool1d(2, 2, ceilMode: true).Forward(one).ToArray());
        Assert.Equal([2f], new MaxPool1d(4, 3, ceilMode: true).Forward(two).ToArray());
        Assert.Equal([1.5f], new AvgPool1d(4, 3, ceilMode: true).Forward(two).ToArray());
        Assert.Equal(1 / 3f, new AvgPool1d(5, 3, 1, ceilMode: true).Forward(one).ToArray()[0], 6);
        Assert.Equal([1f], new AvgPool1d(5, 3, 1, ceilMode: true, countIncludePad: false).Forward(one).ToArray());
        Assert.Equal([5f], new MaxPool2d(2, ceilMode: true).Forward(Tensor.FromArray([5f], 1, 1, 1, 1)).ToArray());
        Assert.Throws<LoomException>(() => new MaxPool1d(3, 2, ceilMode: true).Forward(one));
        Assert.Throws<LoomException>(() => new MaxPool1d(2, 2).Forward(one));
    }

    /// <summary>Draws a fresh set with a random seed (needs Debian's python3-torch) and replays all of it.</summary>
    [Fact]
    public void FreshSeedFromPyTorchAgrees()
    {
        TorchPython.Require();
        var seed = Random.Shared.Next(2, 1_000_000);
        var dir = Directory.CreateTempSubdirectory("loom-modules-");
        try
        {
            TorchPython.RunOrFail(ModuleReplay.GeneratorScript, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--out", dir.FullName);
            foreach (var family in ModuleReplay.Families)
                Check(ModuleReplay.Run(dir.FullName, family, DType.Float32, 1e-4), $"seed {seed}: ");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Check(ReplayReport report, string prefix = "")
    {
        TestContext.Current.TestOutputHelper?.WriteLine(prefix + report);
        Assert.True(report.Cases > 0, $"{prefix}{report.Family}: no cases");
        Assert.True(report.Failures.Count == 0, $"{prefix}{report}\n{string.Join("\n", report.Failures.Take(10))}");
    }
}

/// <summary>
/// Replays one family file of modules_reference.py: per case, builds the spec's model, loads the recorded state dict
/// (strict), runs the warm-up inputs in train mode without recording, switches to the case's mode, runs the input,
/// back-propagates the recorded ∂ℓ/∂y and compares y, ∂ℓ/∂x, the gradient of each parameter (by its PyTorch key)
/// and each buffer afterwards, element by element: |Δ| ≤ tolerance·(1 + |ref|).
/// </summary>
internal static class ModuleReplay
{
    public static readonly string[] Families =
    [
        "linear", "conv2d", "conv1d", "conv_transpose2d", "pool", "batchnorm2d", "batchnorm1d", "elementwise",
        "residual", "basic_block", "sequential",
    ];

    public static string CommittedDir => Path.Combine(ReferenceFiles.CommittedDir, "modules");

    public static string GeneratorScript => Path.Combine(ReferenceFiles.RepoRoot(), "tests", "reference", "modules_reference.py");

    /// <summary>$LOOM_REFERENCE_DIR/modules when CI regenerated it, else the committed set.</summary>
    public static string Dir =>
        Environment.GetEnvironmentVariable("LOOM_REFERENCE_DIR") is { Length: > 0 } d && Directory.Exists(Path.Combine(d, "modules"))
            ? Path.Combine(d, "modules")
            : CommittedDir;

    public static ReplayReport Run(string dir, string family, DType dtype, double tolerance)
    {
        var (tensors, metadata) = Safetensors.Load(Path.Combine(dir, family + ".safetensors"));
        var count = int.Parse(metadata["count"], CultureInfo.InvariantCulture);
        var failures = new List<string>();
        var (maxDiff, maxAt) = (0.0, "-");
        for (var i = 0; i < count; i++)
        {
            var name = $"case{i:D4}";
            using var config = JsonDocument.Parse(metadata[name]);
            var cfg = config.RootElement;
            var where = $"{name} {cfg.GetRawText()}";
            try
            {
                var compared = Replay(name, cfg, tensors, dtype);
                foreach (var (key, actual) in compared)
                {
                    var expected = tensors[$"{name}.{key}"];
                    if (actual is null || actual.Shape != expected.Shape)
                    {
                        failures.Add($"{where} {key}: Loom has {actual?.Shape.ToString() ?? "nothing"}, PyTorch {expected.Shape}");
                        continue;
                    }
                    var (a, e) = (actual.ToDoubleArray(), expected.ToDoubleArray());
                    for (var j = 0; j < a.Length; j++)
                    {
                        var diff = Math.Abs(a[j] - e[j]);
                        if (diff > maxDiff) (maxDiff, maxAt) = (diff, $"{name}.{key}[{j}]");
                        if (!(diff <= tolerance * (1 + Math.Abs(e[j]))))
                        {
                            failures.Add($"{where} {key}[{j}]: Loom {a[j]:G9} PyTorch {e[j]:G9}");
                            break;
                        }
                    }
                }
            }
            catch (LoomException ex)
            {
                failures.Add($"{where}: {ex.Message}");
            }
        }
        return new ReplayReport(family, count, maxDiff, maxAt, failures);
    }

    /// <summary>Runs one case through Loom; returns (reference key, Loom's tensor) pairs to compare.</summary>
    private static List<(string Key, Tensor? Actual)> Replay(string name, JsonElement cfg, Dictionary<string, Tensor> tensors, DType dtype)
    {
        var spec = cfg.GetProperty("spec").GetString()!;
        var input = cfg.GetProperty("input").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var model = ModelBuilder.Build(spec, new Shape(input)).Model;
        var statePrefix = name + ".state.";
        var state = tensors.Where(t => t.Key.StartsWith(statePrefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Key[statePrefix.Length..], t => t.Value);
        model.LoadStateDict(state, strict: true);
        model.To(dtype);

        model.Train();
        using (global::Loom.Autograd.NoGrad())
        {
            for (var w = 0; w < cfg.GetProperty("warmup").GetInt32(); w++) model.Forward(tensors[$"{name}.warmup.{w}"].To(dtype));
        }
        model.Train(cfg.GetProperty("mode").GetString() == "train");
        var x = tensors[$"{name}.x"].To(dtype).Clone().RequiresGrad_();
        var y = model.Forward(x);
        y.Backward(tensors[$"{name}.grad_y"].To(dtype));

        var compared = new List<(string, Tensor?)> { ("y", y), ("grad_x", x.Grad) };
        var parameters = model.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, p) in parameters) compared.Add(("grad." + key, p.Grad));
        foreach (var (key, b) in model.NamedBuffers()) compared.Add(("after." + key, b));
        // Every gradient and buffer PyTorch recorded must exist in Loom under the same key.
        var known = compared.Select(c => c.Item1).ToHashSet();
        foreach (var key in tensors.Keys.Where(k => k.StartsWith(name + ".grad.", StringComparison.Ordinal) || k.StartsWith(name + ".after.", StringComparison.Ordinal)))
        {
            var local = key[(name.Length + 1)..];
            if (!known.Contains(local)) compared.Add((local, null));
        }
        compared.RemoveAll(c => !tensors.ContainsKey($"{name}.{c.Item1}") && c.Item2 is null);
        foreach (var (key, actual) in compared)
        {
            if (!tensors.ContainsKey($"{name}.{key}"))
                throw new LoomException($"Loom has {key} ({actual!.Shape}) that PyTorch did not record");
        }
        return compared;
    }
}
