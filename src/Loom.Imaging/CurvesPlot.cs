using System.Globalization;
using Loom.Training;
using ScottPlot;

namespace Loom.Imaging;

/// <summary>
/// Training curves from <c>history.csv</c> rows, drawn with ScottPlot: one panel per metric, side by side (by default
/// loss, then accuracy). Per-step training values are drawn faint with a smoothed line over them; validation values
/// (one per epoch) as markers joined by a line. Several runs share the axes, one colour per run, named in the legend.
/// Writes PNG, or SVG when the path ends in <c>.svg</c>.
/// </summary>
/// <remarks>
/// Text needs fonts: ScottPlot finds them under <c>/usr/share/fonts</c> (Debian: <c>fonts-dejavu-core</c>) and draws
/// no text at all without them; see <see cref="PictureFonts.Available"/>. Non-finite values (a diverged run's NaN) are
/// left out of the lines. Markers (<see cref="RunCurves.Markers"/>) are dashed vertical lines (solid in SVG, whose Skia canvas has no dashes) with their label at the
/// top of the data area (the legend then goes below the plot).
/// </remarks>
/// <example>
/// <code>
/// var rows = History.Read("runs/digits/history.csv");
/// CurvesPlot.Write(rows, "runs/digits/curves.png", new CurvesPlotOptions { Title = "digits" });
/// CurvesPlot.Write([RunCurves.Read("runs/spiky"), RunCurves.Read("runs/clipped")], "compare.svg");
/// </code>
/// </example>
public static class CurvesPlot
{
    // Matplotlib's tab10, so single runs look as people expect: train blue, validation orange.
    private static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"), Color.FromHex("#9467bd"),
        Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"), Color.FromHex("#bcbd22"), Color.FromHex("#17becf"),
    ];

    private static readonly Color MarkerColor = Color.FromHex("#b3006b");

    /// <summary>Draws one run's curves (loss and accuracy by default) to <paramref name="path"/> (.png or .svg).</summary>
    public static void Write(IReadOnlyList<HistoryRow> rows, string path, CurvesPlotOptions? options = null, IReadOnlyList<PlotMarker>? markers = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var name = options?.Title ?? "run";
        Write([new RunCurves(name, rows) { Markers = markers ?? [] }], path, options);
    }

    /// <summary>Draws the curves of one or more runs on shared axes to <paramref name="path"/> (.png or .svg).</summary>
    /// <returns>The metrics drawn, one panel each, left to right.</returns>
    public static IReadOnlyList<CurveMetric> Write(IReadOnlyList<RunCurves> runs, string path, CurvesPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(path);
        options ??= new CurvesPlotOptions();
        // Fails on a bad extension before drawing. Skia's SVG canvas cannot draw dash patterns (it prints
        // "Unsupported path effect" to stderr per line and draws them solid), so SVGs get solid lines throughout.
        var dashes = ImageFile.FormatOf(path) == ImageFormatKind.Png;
        var plots = Build(runs, options, dashes, out var metrics);
        var width = options.Width;
        var height = options.Height;
        // A legend below the plot is sized by its previous layout, and only a render lays it out at the panel's real
        // width (wrapped into rows): one throw-away render first, or a third run's entries fall off the picture.
        for (var i = 0; i < plots.Count; i++)
            plots[i].GetImage((int)Math.Round((double)width * (i + 1) / plots.Count) - (int)Math.Round((double)width * i / plots.Count), height);
        ImageFile.Write(path, width, height, canvas =>
        {
            for (var i = 0; i < plots.Count; i++)
            {
                var left = (float)Math.Round((double)width * i / plots.Count);
                var right = (float)Math.Round((double)width * (i + 1) / plots.Count);
                // A plot clears its canvas before drawing: clip each to its panel.
                canvas.Save();
                canvas.ClipRect(new SkiaSharp.SKRect(left, 0, right, height));
                plots[i].Render(canvas, new PixelRect(left, right, height, 0));
                canvas.Restore();
            }
        });
        return metrics;
    }

    /// <summary>The ScottPlot plots, one per metric that some run has values for.</summary>
    internal static List<Plot> Build(IReadOnlyList<RunCurves> runs, CurvesPlotOptions options, bool dashes, out IReadOnlyList<CurveMetric> metrics)
    {
        if (runs.Count == 0) throw new LoomException("plot: no runs to draw");
        if (options.Metrics.Count == 0) throw new LoomException("plot: no metrics to draw");
        if (options.SmoothingWindow is <= 0) throw new LoomException($"plot: the smoothing window must be at least 1 step, found {options.SmoothingWindow}");
        var drawn = new List<CurveMetric>();
        var plots = new List<Plot>();
        foreach (var metric in options.Metrics.Distinct())
        {
            if (!runs.Any(r => r.Rows.Any(row => double.IsFinite(row.Value(metric))))) continue;
            plots.Add(BuildPanel(runs, metric, options, dashes));
            drawn.Add(metric);
        }
        if (plots.Count == 0)
        {
            var names = string.Join(", ", options.Metrics.Select(CurveMetrics.Name));
            throw new LoomException($"plot: no finite {names} values in {string.Join(", ", runs.Select(r => r.Name))}");
        }
        metrics = drawn;
        return plots;
    }

    private static Plot BuildPanel(IReadOnlyList<RunCurves> runs, CurveMetric metric, CurvesPlotOptions options, bool dashes)
    {
        var plot = new Plot();
        var font = PictureFonts.SansFamily;
        if (font is not null) plot.Font.Set(font);
        var single = runs.Count == 1;
        var hasVal = metric is CurveMetric.Loss or CurveMetric.Accuracy;
        var smooths = metric is not CurveMetric.Lr;
        for (var r = 0; r < runs.Count; r++)
        {
            var run = runs[r];
            var trainColor = Palette[single ? 0 : r % Palette.Length];
            var valColor = Palette[single ? 1 : r % Palette.Length];
            var prefix = single ? "" : run.Name + " ";
            var (xs, ys) = Series(run.Rows, metric, "train");
            if (xs.Length > 0)
            {
                var window = options.SmoothingWindow ?? Smoothing.AutoWindow(xs.Length);
                var drawSmooth = smooths && window > 1 && xs.Length > 2;
                var raw = plot.Add.ScatterLine(xs, ys, drawSmooth ? trainColor.WithAlpha(0.25) : trainColor);
                raw.LineWidth = drawSmooth ? 1 : 2;
                raw.MarkerSize = xs.Length == 1 ? 6 : 0;
                raw.LegendText = prefix + (drawSmooth ? "train (per step)" : "train");
                if (drawSmooth && !single) raw.LegendText = "";
                if (drawSmooth)
                {
                    var line = plot.Add.ScatterLine(xs, Smoothing.Centred(ys, window), trainColor);
                    line.LineWidth = 2;
                    line.MarkerSize = 0;
                    line.LegendText = prefix + "train (smoothed)";
                }
            }
            if (hasVal)
            {
                var (vx, vy) = Series(run.Rows, metric, "val");
                if (vx.Length > 0)
                {
                    var val = plot.Add.ScatterLine(vx, vy, valColor);
                    val.LineWidth = 2;
                    val.LinePattern = single || !dashes ? LinePattern.Solid : LinePattern.Dashed;
                    val.MarkerShape = MarkerShape.FilledCircle;
                    val.MarkerSize = 8;
                    val.LegendText = prefix + "val (per epoch)";
                }
            }
        }
        var metricTitle = metric switch
        {
            CurveMetric.Loss => "Loss",
            CurveMetric.Accuracy => "Accuracy",
            CurveMetric.Lr => "Learning rate",
            _ => "Gradient norm",
        };
        plot.Title(options.Title is { Length: > 0 } t ? $"{t}: {metricTitle.ToLowerInvariant()}" : metricTitle);
        plot.XLabel("step");
        // Steps are whole numbers; values print in at most 4 significant digits (a diverged loss as 5E+26, not 27 digits).
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("G4", CultureInfo.InvariantCulture) };
        plot.YLabel(metric switch
        {
            CurveMetric.Loss => "cross-entropy loss",
            CurveMetric.Accuracy => "accuracy",
            CurveMetric.Lr => "learning rate",
            _ => "global L2 norm (before clipping)",
        });
        if (metric == CurveMetric.Accuracy)
        {
            plot.Axes.AutoScale();
            var limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsY(Math.Max(0, Math.Min(limits.Bottom, 0.9) - 0.02), 1.01);
        }
        AddMarkers(plot, runs, dashes);
        // Marker labels sit at the top of the data area: the legend then goes below the plot, out of their way.
        if (runs.Any(r => r.Markers.Count > 0))
        {
            plot.ShowLegend(Edge.Bottom);
            plot.Legend.TightHorizontalWrapping = true;
        }
        else plot.ShowLegend(metric == CurveMetric.Accuracy ? Alignment.LowerRight : Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// Each marker: a dashed vertical line and its label inside the top of the data area (not over the title),
    /// successive labels a line lower each so neighbours stay readable. Fixes the axis limits first.
    /// </summary>
    private static void AddMarkers(Plot plot, IReadOnlyList<RunCurves> runs, bool dashes)
    {
        if (runs.All(r => r.Markers.Count == 0)) return;
        var single = runs.Count == 1;
        if (!plot.Axes.LimitsHaveBeenSet) plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        var k = 0;
        for (var r = 0; r < runs.Count; r++)
        {
            var color = single ? MarkerColor : Palette[r % Palette.Length];
            foreach (var marker in runs[r].Markers.OrderBy(m => m.Step))
            {
                plot.Add.VerticalLine(marker.Step, 1.5f, color, dashes ? LinePattern.Dashed : LinePattern.Solid);
                var label = plot.Add.Text(single ? marker.Label : $"{runs[r].Name}: {marker.Label}", marker.Step, limits.Top);
                label.Alignment = Alignment.UpperLeft;
                label.LabelFontColor = Colors.White;
                label.LabelBackgroundColor = color;
                label.LabelFontSize = 11;
                label.LabelPadding = 2;
                label.OffsetX = 3;
                label.OffsetY = 3 + (18 * (k++ % 6));
            }
        }
        plot.Axes.SetLimits(limits);
    }

    /// <summary>The finite (step, value) pairs of one split, in file order.</summary>
    private static (double[] X, double[] Y) Series(IReadOnlyList<HistoryRow> rows, CurveMetric metric, string split)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var row in rows)
        {
            if (!string.Equals(row.Split, split, StringComparison.Ordinal)) continue;
            var v = row.Value(metric);
            if (!double.IsFinite(v)) continue;
            xs.Add(row.Step);
            ys.Add(v);
        }
        return ([.. xs], [.. ys]);
    }
}
