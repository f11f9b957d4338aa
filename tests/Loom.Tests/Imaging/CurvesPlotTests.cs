using Loom.Imaging;
using Loom.Tests.Data;
using Loom.Training;

namespace Loom.Tests.Imaging;

public sealed class CurvesPlotTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A history like the Trainer writes: 60 noisy decaying train steps per epoch, a val row per epoch.</summary>
    internal static List<HistoryRow> SyntheticHistory(int epochs = 3, int stepsPerEpoch = 60, bool accuracy = true, double spikeAt = -1)
    {
        var rng = new Random(7);
        var rows = new List<HistoryRow>();
        var step = 0L;
        for (var e = 1; e <= epochs; e++)
        {
            for (var b = 0; b < stepsPerEpoch; b++)
            {
                step++;
                var loss = (2.3 * Math.Exp(-step / 40.0)) + 0.1 + (0.1 * rng.NextDouble()) + (step == (long)spikeAt ? 5 : 0);
                var acc = accuracy ? Math.Min(1, 1 - (loss / 2.5)) : double.NaN;
                rows.Add(new HistoryRow(step, e, "train", loss, acc, 1e-3 * (1 - (step / 400.0)), 1 + rng.NextDouble()));
            }
            rows.Add(new HistoryRow(step, e, "val", 0.3 + (0.2 / e), accuracy ? 0.8 + (0.05 * e) : double.NaN, 1e-3, double.NaN));
        }
        return rows;
    }

    [Fact]
    public void Png_is_a_real_png_of_the_requested_size()
    {
        var path = _dir.File("curves.png");
        CurvesPlot.Write(SyntheticHistory(), path, new CurvesPlotOptions { Width = 900, Height = 300, Title = "tiny" });
        ImageAssert.Png(path, 900, 300);
    }

    [Fact]
    public void Svg_has_titles_axis_labels_and_legend_as_text()
    {
        Assert.True(PictureFonts.Available, PictureFonts.MissingFontsMessage);
        var path = _dir.File("curves.svg");
        CurvesPlot.Write(SyntheticHistory(), path, new CurvesPlotOptions { Title = "tiny" });
        var texts = ImageAssert.SvgTexts(path);
        Assert.Contains("tiny: loss", texts);
        Assert.Contains("tiny: accuracy", texts);
        Assert.Contains("step", texts);
        Assert.Contains("cross-entropy loss", texts);
        Assert.Contains("train (smoothed)", texts);
        Assert.Contains("val (per epoch)", texts);
    }

    [Fact]
    public void Several_runs_share_the_axes_and_are_named_in_the_legend_with_their_markers()
    {
        var path = _dir.File("compare.svg");
        var spiky = new RunCurves("spiky", SyntheticHistory(spikeAt: 70)) { Markers = [new PlotMarker(70, "loss-spikes")] };
        var fixedRun = new RunCurves("clipped", SyntheticHistory());
        var drawn = CurvesPlot.Write([spiky, fixedRun], path);
        Assert.Equal([CurveMetric.Loss, CurveMetric.Accuracy], drawn);
        var texts = ImageAssert.SvgTexts(path);
        Assert.Contains("spiky train (smoothed)", texts);
        Assert.Contains("clipped train (smoothed)", texts);
        Assert.Contains("clipped val (per epoch)", texts);
        Assert.Contains("spiky: loss-spikes", texts);
        Assert.Contains("Loss", texts);
    }

    [Fact]
    public void Every_legend_entry_of_three_runs_with_markers_lies_inside_its_panel()
    {
        Assert.True(PictureFonts.Available, PictureFonts.MissingFontsMessage);
        var path = _dir.File("three.svg");
        var runs = new[] { "alpha-run", "beta-run", "gamma-longer-name" }
            .Select((name, i) => new RunCurves(name, SyntheticHistory(spikeAt: 70 + (15 * i))) { Markers = [new PlotMarker(70 + (15 * i), "loss-spikes")] })
            .ToArray();
        CurvesPlot.Write(runs, path, new CurvesPlotOptions { Width = 1200, Height = 450 });
        var entries = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(path),
                @"<text transform=""translate\(([-\d.]+) ([-\d.]+)\)""[^>]*>\s*([^<]*?)\s*</text>")
            .Select(m => (X: double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
                Y: double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Text: m.Groups[3].Value))
            .Where(t => t.Text.EndsWith("(smoothed)", StringComparison.Ordinal) || t.Text.EndsWith("(per epoch)", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(2 * 2 * runs.Length, entries.Count); // train and val of each run, in both panels
        Assert.Equal(2, entries.Count(e => e.Text == "gamma-longer-name val (per epoch)")); // the entry that fell off
        foreach (var (x, y, _) in entries)
        {
            Assert.InRange(y, 0, 450 - 6);
            Assert.InRange(x, 0, 1200 - 6);
        }
    }

    [Fact]
    public void A_metric_no_run_has_is_left_out_and_a_chosen_metric_gets_its_own_panel()
    {
        var lossOnly = SyntheticHistory(accuracy: false);
        Assert.Equal([CurveMetric.Loss], CurvesPlot.Write([new RunCurves("seq", lossOnly)], _dir.File("a.png")));
        var path = _dir.File("lr.svg");
        Assert.Equal([CurveMetric.Lr], CurvesPlot.Write([new RunCurves("seq", lossOnly)], path, new CurvesPlotOptions { Metrics = [CurveMetric.Lr] }));
        var texts = ImageAssert.SvgTexts(path);
        Assert.Contains("Learning rate", texts);
        Assert.Contains("learning rate", texts);
    }

    [Fact]
    public void Non_finite_values_are_skipped_and_a_run_with_nothing_to_draw_is_an_error()
    {
        var rows = SyntheticHistory();
        rows[^2] = rows[^2] with { Loss = double.NaN };
        CurvesPlot.Write(rows, _dir.File("nan.png"));
        var e = Assert.Throws<LoomException>(() =>
            CurvesPlot.Write([new RunCurves("seq", SyntheticHistory(accuracy: false))], _dir.File("b.png"), new CurvesPlotOptions { Metrics = [CurveMetric.Accuracy] }));
        Assert.Equal("plot: no finite accuracy values in seq", e.Message);
    }

    [Fact]
    public void The_format_comes_from_the_extension()
    {
        var e = Assert.Throws<LoomException>(() => CurvesPlot.Write(SyntheticHistory(), _dir.File("curves.jpg")));
        Assert.Contains("'.jpg'; use .png or .svg", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("curves.jpg")));
    }

    [Fact]
    public void Centred_moving_average_keeps_the_ends_and_does_not_lag()
    {
        double[] x = [0, 1, 2, 3, 4, 5, 6];
        // A straight line is its own centred average; an exponential one would lag below it.
        Assert.Equal(x, Smoothing.Centred(x, 5));
        Assert.Equal([0, 1, 1, 1, 2, 3, 3], Smoothing.Centred([0, 3, 0, 0, 3, 3, 3], 3), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(1, Smoothing.AutoWindow(10));
        Assert.Equal(11, Smoothing.AutoWindow(250));
        Assert.Equal(201, Smoothing.AutoWindow(100_000));
    }

    [Fact]
    public void Metric_names_parse_and_an_unknown_one_lists_the_known()
    {
        Assert.Equal(CurveMetric.GradNorm, CurveMetrics.Parse("grad_norm"));
        Assert.Equal(CurveMetric.GradNorm, CurveMetrics.Parse("Grad-Norm"));
        Assert.Equal("grad_norm", CurveMetrics.Name(CurveMetric.GradNorm));
        var e = Assert.Throws<LoomException>(() => CurveMetrics.Parse("perplexity"));
        Assert.Equal("plot: unknown metric 'perplexity'; known: loss, accuracy, lr, grad_norm", e.Message);
    }
}
