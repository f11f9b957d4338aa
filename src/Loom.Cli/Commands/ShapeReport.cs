using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Loom.Geometry;

namespace Loom.Cli.Commands;

/// <summary>
/// The result of one <c>loom shape</c> computation and its three renderings: a one-line summary, the derivation
/// (<c>--explain</c>) and one JSON object (<c>--json</c>).
/// </summary>
internal sealed record ShapeReport(
    string Op,
    AxisName[] Axes,
    int[] Input,
    int[] Kernel,
    int[] Stride,
    int[] Dilation,
    PaddingSpec Spec,
    AxisPadding[] Padding,
    AxisDerivation[] Derivations,
    int? Filters)
{
    // Relaxed escaping keeps '+', '−', '·' and quotes readable in the formulas; the JSON goes to a terminal or a
    // script, never into HTML.
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public int? Groups { get; init; }

    /// <summary>The weight's shape in PyTorch's layout (a bias of <see cref="Filters"/> values goes with it), or null for pooling.</summary>
    public int[]? Weight { get; init; }

    public int[]? OutputPadding { get; init; }

    public bool? CeilMode { get; init; }

    public bool ShowDilation { get; init; } = true;

    private bool Transposed => OutputPadding is not null;

    /// <summary>[F, H', W'] (or [C, H', W'] for pooling, which keeps the channels).</summary>
    public int[] Output => [Filters ?? Input[0], .. Derivations.Select(d => d.Output)];

    /// <summary>Weight plus bias parameters, or null for pooling.</summary>
    public long? Parameters => Weight is null ? null : Weight.Aggregate(1L, (p, s) => p * s) + (Filters ?? 0);

    private string OutputLayout => (Filters is null ? "C" : "F") + string.Concat(Axes.Select(a => "x" + a.Symbol + "'"));

    public int Write(ParseResult parse, LayerOptions options)
    {
        var output = parse.InvocationConfiguration.Output;
        if (parse.GetValue(options.Json)) output.WriteLine(ToJson().ToJsonString(JsonOptions));
        else if (parse.GetValue(options.Explain)) output.Write(Explain(options.InputLayout));
        else output.WriteLine($"{Op}: input {SizeParser.Format(Input)} → output {SizeParser.Format(Output)}");
        return 0;
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["op"] = Op,
            ["input"] = Array(Input),
            ["kernel"] = Array(Kernel),
            ["stride"] = Array(Stride),
            ["dilation"] = Array(Dilation),
            ["padding"] = Array(Padding.SelectMany(p => new[] { p.Low, p.High })),
            ["padding_spec"] = Spec.ToString(),
        };
        if (Filters is not null) json["filters"] = Filters;
        if (Groups is not null) json["groups"] = Groups;
        if (OutputPadding is not null) json["output_padding"] = Array(OutputPadding);
        if (CeilMode is not null) json["ceil_mode"] = CeilMode;
        json["output"] = Array(Output);
        var axes = new JsonArray();
        for (var a = 0; a < Axes.Length; a++)
        {
            var d = Derivations[a];
            var axis = new JsonObject
            {
                ["axis"] = d.Axis,
                ["name"] = Axes[a].Name,
                ["input"] = d.Input,
                ["kernel"] = d.Kernel,
                ["stride"] = d.Stride,
                ["dilation"] = d.Dilation,
                ["pad_low"] = d.Padding.Low,
                ["pad_high"] = d.Padding.High,
            };
            if (Transposed) axis["output_padding"] = d.OutputPadding;
            if (CeilMode is not null) axis["ceil_mode"] = d.CeilMode;
            axis["output"] = d.Output;
            axis["formula"] = d.Formula;
            axis["derivation"] = d.Derivation;
            if (d.Note is not null) axis["note"] = d.Note;
            if (!Transposed)
            {
                axis["receptive_field"] = d.KernelSpan;
                axis["jump"] = d.Stride;
            }
            axes.Add(axis);
        }
        json["axes"] = axes;
        if (Weight is not null)
        {
            json["weight"] = Array(Weight);
            json["bias"] = Array([Filters ?? 0]);
            json["parameters"] = Parameters;
        }
        return json;
    }

    public string Explain(string inputLayout)
    {
        var sb = new StringBuilder();
        var settings = new List<string> { $"kernel {SizeParser.Format(Kernel)}", $"stride {SizeParser.Format(Stride)}" };
        if (ShowDilation) settings.Add($"dilation {SizeParser.Format(Dilation)}");
        var sides = string.Join(", ", Axes.Select((a, i) => $"{a.LowSide} {Padding[i].Low}, {a.HighSide} {Padding[i].High}"));
        settings.Add($"padding {Spec} ({sides})");
        if (OutputPadding is not null) settings.Add($"output padding {SizeParser.Format(OutputPadding)}");
        if (Filters is not null) settings.Add($"filters {Filters}");
        if (Groups is not null) settings.Add($"groups {Groups}");
        if (CeilMode is not null) settings.Add(CeilMode.Value ? "ceil mode" : "floor mode");
        sb.AppendLine($"{Op} on input {SizeParser.Format(Input)} ({inputLayout}): {string.Join(", ", settings)}");
        if (Spec.Mode == PaddingMode.Same)
        {
            var totals = string.Join(", ", Axes.Select((a, i) => $"{Padding[i].Total} along {a.Name}"));
            sb.AppendLine($"padding 'same': total d·(k−1) per axis ({totals}), the odd pixel after, as TensorFlow/ONNX SAME_UPPER");
        }

        var width = Axes.Max(a => a.Name.Length) + 2;
        for (var a = 0; a < Axes.Length; a++)
        {
            var d = Derivations[a];
            var indent = new string(' ', width);
            sb.AppendLine($"{(Axes[a].Name + ":").PadRight(width)}{d.Formula}    (p_lo = {Axes[a].LowSide}, p_hi = {Axes[a].HighSide})");
            sb.AppendLine($"{indent}{d.Derivation}");
            if (d.Note is not null) sb.AppendLine($"{indent}({d.Note})");
        }
        if (Filters is null)
            sb.AppendLine($"channels: pooling keeps the {Plural(Input[0], "input channel")}");
        else
            sb.AppendLine($"channels: {Plural(Filters.Value, "filter")} → {Plural(Filters.Value, "output channel")} (each filter sees {Input[0] / (Groups ?? 1)} of the {Plural(Input[0], "input channel")})");
        sb.AppendLine($"output: {SizeParser.Format(Output)} ({OutputLayout})");
        if (Weight is not null)
            sb.AppendLine($"parameters: weight [{string.Join(", ", Weight)}] + bias [{Filters}] = {Parameters}");
        if (!Transposed)
        {
            sb.AppendLine($"receptive field: each output sees a window of {SizeParser.Format(Derivations.Select(d => d.KernelSpan))} input positions "
                + $"(d·(k−1)+1); neighbouring outputs are {SizeParser.Format(Stride)} apart (the stride)");
        }
        return sb.ToString();
    }

    private static string Plural(int n, string noun) => n == 1 ? $"{n} {noun}" : $"{n} {noun}s";

    private static JsonArray Array(IEnumerable<int> values) => [.. values.Select(v => (JsonNode)v)];
}
