using System.Globalization;
using System.Text.Json;
using Loom.Interop;

namespace Loom.Tests.Reference;

/// <summary>The outcome of replaying one family's file: case count, the largest |Loom − PyTorch| and any mismatches.</summary>
internal sealed record ReplayReport(string Family, int Cases, double MaxAbsDiff, string MaxAt, List<string> Failures)
{
    public override string ToString() =>
        $"{Family}: {Cases} cases, max |Δ| {MaxAbsDiff:E2} ({MaxAt}), {Failures.Count} mismatches";
}

/// <summary>
/// Replays the cases of one reference file through Loom: rebuilds the op from the case's configuration, runs the
/// forward pass and the backward pass with the recorded ∂ℓ/∂y, and compares y, every gradient and (max pools) the
/// argmax indices with PyTorch's, element by element: |Δ| ≤ tolerance·(1 + |ref|).
/// </summary>
internal static class ReferenceReplay
{
    public static ReplayReport Run(string dir, string family, DType dtype, double tolerance)
    {
        var path = Path.Combine(dir, family + ".safetensors");
        var (tensors, metadata) = Safetensors.Load(path);
        var count = int.Parse(metadata["count"], CultureInfo.InvariantCulture);
        var failures = new List<string>();
        var (maxDiff, maxAt) = (0.0, "-");
        for (var i = 0; i < count; i++)
        {
            var name = $"case{i:D4}";
            using var config = JsonDocument.Parse(metadata[name]);
            var cfg = config.RootElement;
            Tensor? Get(string key) => tensors.TryGetValue($"{name}.{key}", out var t) ? t : null;
            Tensor? Leaf(string key) => Get(key) is { } t ? t.To(dtype).Clone().RequiresGrad_() : null;
            var x = Leaf("x")!;
            var w = Leaf("weight");
            var b = Leaf("bias");
            var (y, indices) = Forward(family, cfg, x, w, b);
            y.Backward(Get("grad_y")!.To(dtype));

            void Compare(string key, Tensor? actual)
            {
                var expected = Get(key);
                if (expected is null) return;
                var where = $"{name}.{key} {cfg.GetRawText()}";
                if (actual is null || actual.Shape != expected.Shape)
                {
                    failures.Add($"{where}: shape {actual?.Shape.ToString() ?? "none"} but PyTorch has {expected.Shape}");
                    return;
                }
                var (a, e) = (actual.ToDoubleArray(), expected.ToDoubleArray());
                for (var j = 0; j < a.Length; j++)
                {
                    var diff = Math.Abs(a[j] - e[j]);
                    if (diff > maxDiff) (maxDiff, maxAt) = (diff, $"{name}.{key}[{j}]");
                    if (!(diff <= tolerance * (1 + Math.Abs(e[j]))))
                    {
                        failures.Add($"{where}: element {j} Loom {a[j]:G9} PyTorch {e[j]:G9}");
                        return;
                    }
                }
            }

            Compare("y", y);
            Compare("grad_x", x.Grad);
            Compare("grad_weight", w?.Grad);
            Compare("grad_bias", b?.Grad);
            Compare("indices", indices);
        }
        return new ReplayReport(family, count, maxDiff, maxAt, failures);
    }

    private static (Tensor Y, Tensor? Indices) Forward(string family, JsonElement cfg, Tensor x, Tensor? w, Tensor? b)
    {
        switch (family)
        {
            case "conv2d":
                {
                    var (s, p, d) = (Ints(cfg, "stride"), Ints(cfg, "padding"), Ints(cfg, "dilation"));
                    return (Functional.Conv2d(x, w!, b, (s[0], s[1]), (p[0], p[1], p[2], p[3]), (d[0], d[1]), Int(cfg, "groups")), null);
                }
            case "conv1d":
                {
                    var (s, p, d) = (Ints(cfg, "stride"), Ints(cfg, "padding"), Ints(cfg, "dilation"));
                    return (Functional.Conv1d(x, w!, b, s[0], (p[0], p[1]), d[0], Int(cfg, "groups")), null);
                }
            case "conv_transpose2d":
                {
                    var (s, p, d, op) = (Ints(cfg, "stride"), Ints(cfg, "padding"), Ints(cfg, "dilation"), Ints(cfg, "output_padding"));
                    var options = new ConvTranspose2dOptions
                    {
                        Stride = (s[0], s[1]),
                        Padding = (p[0], p[1], p[2], p[3]),
                        OutputPadding = (op[0], op[1]),
                        Dilation = (d[0], d[1]),
                        Groups = Int(cfg, "groups"),
                    };
                    return (Functional.ConvTranspose2d(x, w!, b, options), null);
                }
            case "max_pool2d":
                {
                    var (k, p, d, s) = (Ints(cfg, "kernel"), Ints(cfg, "padding"), Ints(cfg, "dilation"), OptionalInts(cfg, "stride"));
                    var options = new MaxPool2dOptions((k[0], k[1]))
                    {
                        Stride = s is null ? null : (s[0], s[1]),
                        Padding = (p[0], p[1]),
                        Dilation = (d[0], d[1]),
                        CeilMode = cfg.GetProperty("ceil_mode").GetBoolean(),
                    };
                    return Functional.MaxPool2dWithIndices(x, options);
                }
            case "max_pool1d":
                {
                    var (k, p, d, s) = (Ints(cfg, "kernel"), Ints(cfg, "padding"), Ints(cfg, "dilation"), OptionalInts(cfg, "stride"));
                    return Functional.MaxPool1dWithIndices(x, k[0], s?[0], p[0], d[0], cfg.GetProperty("ceil_mode").GetBoolean());
                }
            case "avg_pool2d":
                {
                    var (k, p, s) = (Ints(cfg, "kernel"), Ints(cfg, "padding"), OptionalInts(cfg, "stride"));
                    var options = new AvgPool2dOptions((k[0], k[1]))
                    {
                        Stride = s is null ? null : (s[0], s[1]),
                        Padding = (p[0], p[1]),
                        CeilMode = cfg.GetProperty("ceil_mode").GetBoolean(),
                        CountIncludePad = cfg.GetProperty("count_include_pad").GetBoolean(),
                        DivisorOverride = cfg.TryGetProperty("divisor_override", out var dv) ? dv.GetInt32() : null,
                    };
                    return (Functional.AvgPool2d(x, options), null);
                }
            case "avg_pool1d":
                {
                    var (k, p, s) = (Ints(cfg, "kernel"), Ints(cfg, "padding"), OptionalInts(cfg, "stride"));
                    return (Functional.AvgPool1d(x, k[0], s?[0], p[0], cfg.GetProperty("ceil_mode").GetBoolean(),
                        cfg.GetProperty("count_include_pad").GetBoolean()), null);
                }
            case "adaptive_avg_pool2d":
                {
                    var o = Ints(cfg, "output_size");
                    return (Functional.AdaptiveAvgPool2d(x, (o[0], o[1])), null);
                }
            default:
                throw new InvalidOperationException($"unknown reference family '{family}'");
        }
    }

    private static int Int(JsonElement cfg, string key) => cfg.GetProperty(key).GetInt32();

    private static int[] Ints(JsonElement cfg, string key) => OptionalInts(cfg, key) ?? throw new InvalidOperationException($"'{key}' is null");

    private static int[]? OptionalInts(JsonElement cfg, string key)
    {
        var e = cfg.GetProperty(key);
        if (e.ValueKind == JsonValueKind.Null) return null;
        var values = new int[e.GetArrayLength()];
        var i = 0;
        foreach (var v in e.EnumerateArray()) values[i++] = v.GetInt32();
        return values;
    }
}
