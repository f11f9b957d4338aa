using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Loom.Diagnostics;

/// <summary>
/// What <see cref="LossCurveDoctor"/> found: the findings (worst codes first; exactly one <c>healthy</c> finding when
/// nothing is wrong), the number of classes used (null when unknown) and how much of the run was read.
/// </summary>
public sealed record DoctorReport(IReadOnlyList<Finding> Findings, int? Classes, int TrainSteps, long LastStep)
{
    /// <summary>True when the only finding is <c>healthy</c>.</summary>
    public bool IsHealthy => Findings.All(f => f.Code == DoctorCodes.Healthy);

    /// <summary>The codes found, in report order.</summary>
    public IReadOnlyList<string> Codes => [.. Findings.Select(f => f.Code)];

    /// <summary>The severity's name as in JSON and markdown: info, warning, error.</summary>
    public static string SeverityName(Severity s) => s.ToString().ToLowerInvariant();

    /// <summary>
    /// <c>{"findings": [{"code", "severity", "steps", "epochs", "evidence", "causes", "fixes", "summary"}], "classes", "train_steps"}</c>
    /// (non-finite evidence is written as null), the contract of <c>loom doctor --json</c>.
    /// </summary>
    public JsonObject ToJsonObject()
    {
        var findings = new JsonArray();
        foreach (var f in Findings)
        {
            var evidence = new JsonObject();
            foreach (var (k, v) in f.Evidence) evidence[k] = double.IsFinite(v) ? JsonValue.Create(v) : null;
            findings.Add(new JsonObject
            {
                ["code"] = f.Code,
                ["severity"] = SeverityName(f.Severity),
                ["steps"] = new JsonArray([.. f.Steps.Select(s => (JsonNode?)JsonValue.Create(s))]),
                ["epochs"] = new JsonArray([.. f.Epochs.Select(e => (JsonNode?)JsonValue.Create(e))]),
                ["evidence"] = evidence,
                ["causes"] = new JsonArray([.. f.Causes.Select(c => (JsonNode?)JsonValue.Create(c))]),
                ["fixes"] = new JsonArray([.. f.Fixes.Select(c => (JsonNode?)JsonValue.Create(c))]),
                ["summary"] = f.Summary,
            });
        }
        return new JsonObject
        {
            ["findings"] = findings,
            ["classes"] = Classes is { } c ? JsonValue.Create(c) : null,
            ["train_steps"] = TrainSteps,
        };
    }

    public string ToJson(bool indented = false) => ToJsonObject().ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

    /// <summary>The report as markdown (<c>doctor.md</c> in the run directory).</summary>
    public string ToMarkdown(string title)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("# Loss-curve doctor: ").Append(title).Append("\n\n");
        sb.Append(c, $"{TrainSteps} training steps read (last step {LastStep}); classes: {(Classes is { } classes ? $"{classes} (ln C = {Math.Log(classes).ToString("0.####", c)}, chance accuracy {(1.0 / classes).ToString("0.##%", c)})" : "unknown")}.\n\n");
        foreach (var f in Findings)
        {
            sb.Append("## `").Append(f.Code).Append("` (").Append(SeverityName(f.Severity)).Append(")\n\n");
            sb.Append(f.Summary).Append(".\n\n");
            if (f.Steps.Count > 0)
                sb.Append("Steps: ").Append(string.Join(", ", f.Steps.Take(20).Select(s => s.ToString(c)))).Append(f.Steps.Count > 20 ? $", … ({f.Steps.Count} in all)" : "")
                  .Append("; epochs: ").Append(Ranges(f.Epochs)).Append(".\n\n");
            sb.Append("| evidence | value |\n|---|---|\n");
            foreach (var (k, v) in f.Evidence) sb.Append("| ").Append(k).Append(" | ").Append(double.IsFinite(v) ? v.ToString("G6", c) : v.ToString(c)).Append(" |\n");
            sb.Append('\n');
            if (f.Causes.Count > 0)
            {
                sb.Append("Likely causes:\n");
                foreach (var cause in f.Causes) sb.Append("- ").Append(cause).Append('\n');
                sb.Append('\n');
            }
            if (f.Fixes.Count > 0)
            {
                sb.Append("Try:\n");
                foreach (var fix in f.Fixes) sb.Append("- ").Append(fix).Append('\n');
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>"1–4, 7" from a sorted list of epochs.</summary>
    private static string Ranges(IReadOnlyList<int> epochs)
    {
        if (epochs.Count == 0) return "-";
        var parts = new List<string>();
        var start = epochs[0];
        var prev = start;
        foreach (var e in epochs.Skip(1).Append(int.MinValue))
        {
            if (e == prev + 1)
            {
                prev = e;
                continue;
            }
            parts.Add(start == prev ? start.ToString(CultureInfo.InvariantCulture) : $"{start}–{prev}");
            start = prev = e;
        }
        return string.Join(", ", parts);
    }
}
