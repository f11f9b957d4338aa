using System.Globalization;
using Loom.Diagnostics;
using ScottPlot;

namespace Loom.Imaging;

/// <summary>
/// A picture of a <see cref="GradientFlowReport"/>: ‖∂ℓ/∂h[t]‖ over t = 1 … T on a log scale (the loss at the last
/// step), so a vanishing gradient shows as a straight line falling towards t = 1.
/// </summary>
/// <example><code>
/// GradientFlowPlot.Write(report, "gradflow.png");
/// </code></example>
public static class GradientFlowPlot
{
    /// <summary>Draws <paramref name="report"/> to <paramref name="path"/> (.png or .svg).</summary>
    public static void Write(GradientFlowReport report, string path, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(path);
        ImageFile.FormatOf(path); // fail on a bad extension before drawing
        var plot = new Plot();
        if (PictureFonts.SansFamily is { } font) plot.Font.Set(font);
        var xs = Enumerable.Range(1, report.Steps).Select(t => (double)t).ToArray();
        // log10 of the norms; a zero norm (no path to the loss) is left out of the line.
        var ys = report.GradNorms.Select(v => v > 0 ? Math.Log10(v) : double.NaN).ToArray();
        var line = plot.Add.ScatterLine(xs, ys);
        line.LineWidth = 2;
        line.MarkerSize = 4;
        line.LegendText = report.Model;
        var c = CultureInfo.InvariantCulture;
        plot.Title($"{report.Model}: ‖∂ℓ/∂h[t]‖, first/last = {report.FirstToLast.ToString("G3", c)}");
        plot.XLabel("step t");
        plot.YLabel("‖∂ℓ/∂h[t]‖ (log scale)");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => "1e" + Math.Round(v, 1).ToString(c),
        };
        plot.ShowLegend(Alignment.LowerRight);
        ImageFile.Write(path, width, height, canvas => plot.Render(canvas, new PixelRect(0, width, height, 0)));
    }
}
