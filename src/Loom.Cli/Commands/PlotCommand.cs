using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Loom.Diagnostics.TensorBoard;
using Loom.Imaging;
using Loom.Training;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom plot RUN [RUN…] -o FILE.png|svg [--metric …]</c>: the training curves of one or more runs on shared axes
/// (ScottPlot). Also writes <c>curves.png</c> at the end of <c>loom train</c> (<see cref="WriteRunCurves"/>), and the same picture into the run's TensorBoard log.
/// </summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories (or history.csv files) to draw; several share the axes.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out", "-o") { Description = "The picture to write, .png or .svg (default for one run directory: RUN/curves.png, or RUN/<metric>.png with --metric)." };
        var metric = new Option<string?>("--metric") { Description = "Draw only this column: loss, accuracy, lr or grad_norm (comma-separated for several panels). Default: loss and accuracy." };
        var width = new Option<int>("--width") { Description = "Width in pixels.", DefaultValueFactory = _ => 0 };
        var height = new Option<int>("--height") { Description = "Height in pixels.", DefaultValueFactory = _ => 450 };
        var smoothing = new Option<int?>("--smoothing") { Description = "Window in steps of the centred moving average over per-step values (1: off; default: a 25th of the steps).", HelpName = "STEPS" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: the file written, its panels and runs." };
        var mark = new Option<string[]>("--mark") { Description = "Mark a step on the curves: STEP:LABEL (one run) or RUN=STEP:LABEL, RUN a run's name or position (1, 2, …); repeat for several.", HelpName = "[RUN=]STEP:LABEL" };
        var command = new Command("plot", "Draw the loss and accuracy curves of one or more runs (history.csv) to a PNG or SVG.")
        {
            runs, output, metric, width, height, smoothing, mark, json,
        };
        command.SetAction(parse =>
        {
            var paths = parse.GetValue(runs)!;
            var metrics = ParseMetrics(parse.GetValue(metric));
            var curves = paths.Select(RunCurves.Read).ToList();
            UniqueNames(curves, paths);
            AddMarkers(curves, parse.GetValue(mark) ?? []);
            var path = parse.GetValue(output) ?? DefaultOutput(paths, parse.GetValue(metric) is null ? null : metrics);
            var options = new CurvesPlotOptions
            {
                Metrics = metrics,
                Height = parse.GetValue(height),
                SmoothingWindow = parse.GetValue(smoothing),
                Title = curves.Count == 1 ? curves[0].Name : null,
            };
            var w = parse.GetValue(width);
            options = options with { Width = w > 0 ? w : 600 * Math.Min(metrics.Count, 2) };
            var drawn = CurvesPlot.Write(curves, path, options);
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (!PictureFonts.Available) stderr.WriteLine($"loom: warning: {PictureFonts.MissingFontsMessage}");
            var full = Path.GetFullPath(path);
            if (parse.GetValue(json))
            {
                stdout.WriteLine(new JsonObject
                {
                    ["path"] = full,
                    ["metrics"] = new JsonArray([.. drawn.Select(m => (JsonNode?)CurveMetrics.Name(m))]),
                    ["runs"] = new JsonArray([.. curves.Select(c => (JsonNode?)c.Name)]),
                    ["markers"] = new JsonArray([.. curves.Select(c => (JsonNode?)new JsonArray([.. c.Markers.Select(m => (JsonNode?)new JsonObject { ["step"] = m.Step, ["label"] = m.Label })]))]),
                }.ToJsonString());
            }
            else
            {
                var skipped = metrics.Except(drawn).Select(CurveMetrics.Name).ToList();
                stdout.WriteLine($"wrote {full}: {string.Join(", ", drawn.Select(CurveMetrics.Name))} of {string.Join(", ", curves.Select(c => c.Name))}" +
                    (skipped.Count > 0 ? $" (no values for {string.Join(", ", skipped)})" : ""));
            }
            return 0;
        });
        return command.WithExamples(
            "loom plot runs/20261127-170000",
            "loom plot runs/spiky runs/clipped -o compare.png",
            "loom plot runs/spiky runs/clipped --metric grad_norm -o grad-norms.svg",
            "loom plot runs/spiky runs/clipped --mark spiky=412:loss-spikes --mark 2=900:healthy -o compare.svg");
    }

    /// <summary>
    /// Writes <c>curves.png</c> into a run directory from its <c>history.csv</c> (called by <c>loom train</c> when training
    /// ends, however it ends). A run without rows is skipped; a failure is a warning on stderr, never a failed run.
    /// </summary>
    internal static void WriteRunCurves(RunDirectory run, TextWriter stderr)
    {
        try
        {
            if (!File.Exists(run.History) || new FileInfo(run.History).Length <= History.Header.Length + 1) return;
            var rows = History.Read(run.History);
            CurvesPlot.Write(rows, run.Curves, new CurvesPlotOptions { Title = Path.GetFileName(run.Path) });
            if (!PictureFonts.Available) stderr.WriteLine($"loom: warning: curves.png: {PictureFonts.MissingFontsMessage}");
            // The same picture in the run's TensorBoard log, at the last step (TensorBoard's Images tab).
            TensorBoardLog.AppendImage(run.Path, "curves", File.ReadAllBytes(run.Curves), rows.Max(r => r.Step));
        }
        catch (Exception e) when (e is LoomException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"loom: warning: curves.png (or its TensorBoard image) not written: {e.Message}");
        }
    }

    /// <summary>
    /// Attaches the <c>--mark</c> markers to their runs. This is also the seam for the loss-curve doctor: its findings
    /// (code and steps) become <see cref="PlotMarker"/>s on <see cref="RunCurves.Markers"/> the same way.
    /// </summary>
    private static void AddMarkers(List<RunCurves> curves, string[] marks)
    {
        var added = curves.Select(_ => new List<PlotMarker>()).ToList();
        foreach (var text in marks)
        {
            var (run, marker) = ParseMark(text, curves);
            added[run].Add(marker);
        }
        for (var i = 0; i < curves.Count; i++)
            if (added[i].Count > 0) curves[i] = curves[i] with { Markers = [.. curves[i].Markers, .. added[i]] };
    }

    /// <summary>
    /// <c>STEP:LABEL</c> or <c>RUN=STEP:LABEL</c>; RUN is a run's name (as in the legend) or its position from 1. Without
    /// RUN there must be a single run. Errors quote the text and say what was expected.
    /// </summary>
    internal static (int Run, PlotMarker Marker) ParseMark(string text, IReadOnlyList<RunCurves> curves)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var hasRun = equals >= 0 && (colon < 0 || equals < colon);
        var stepText = colon < 0 ? "" : text[(hasRun ? equals + 1 : 0)..colon].Trim();
        var label = colon < 0 ? "" : text[(colon + 1)..].Trim();
        if (colon < 0 || label.Length == 0 || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            throw new LoomException($"plot: --mark '{text}' is not STEP:LABEL or RUN=STEP:LABEL (a whole step number, a non-empty label)");
        if (!hasRun)
        {
            if (curves.Count != 1)
                throw new LoomException($"plot: --mark '{text}' does not say which of the {curves.Count} runs it marks; write RUN=STEP:LABEL with RUN one of {string.Join(", ", curves.Select(c => c.Name))} or 1..{curves.Count}");
            return (0, new PlotMarker(step, label));
        }
        var runText = text[..equals].Trim();
        var index = curves.ToList().FindIndex(c => string.Equals(c.Name, runText, StringComparison.Ordinal));
        if (index < 0 && int.TryParse(runText, NumberStyles.None, CultureInfo.InvariantCulture, out var position) && position >= 1 && position <= curves.Count)
            index = position - 1;
        if (index < 0)
            throw new LoomException($"plot: --mark '{text}': no run '{runText}'; the runs are {string.Join(", ", curves.Select(c => c.Name))} (or 1..{curves.Count})");
        return (index, new PlotMarker(step, label));
    }

    private static List<CurveMetric> ParseMetrics(string? text)
    {
        if (text is null) return [CurveMetric.Loss, CurveMetric.Accuracy];
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new LoomException($"plot: --metric is empty; known: {string.Join(", ", CurveMetrics.Names)}");
        return [.. names.Select(CurveMetrics.Parse).Distinct()];
    }

    private static string DefaultOutput(string[] paths, IReadOnlyList<CurveMetric>? metrics)
    {
        if (paths.Length != 1 || !Directory.Exists(paths[0]))
            throw new LoomException("plot: give the picture to write with -o FILE.png or -o FILE.svg (a default exists only for a single run directory)");
        var file = metrics is null ? "curves.png" : string.Join("-", metrics.Select(CurveMetrics.Name)) + ".png";
        return Path.Combine(paths[0], file);
    }

    /// <summary>Runs named alike (two runs/x/history.csv copies, or a/run and b/run) get their path as name instead.</summary>
    private static void UniqueNames(List<RunCurves> curves, string[] paths)
    {
        var duplicated = curves.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < curves.Count; i++)
            if (duplicated.Contains(curves[i].Name)) curves[i] = curves[i] with { Name = paths[i] };
    }
}
