using System.Text.Json.Nodes;
using Loom.Tests.Cli;
using Loom.Tests.Data;
using Loom.Training;

namespace Loom.Tests.Imaging;

/// <summary><c>loom plot</c> out of process, on histories written by the tests.</summary>
public sealed class PlotCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Scratch(string name)
    {
        var path = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private string WriteRun(string name, bool spike = false)
    {
        var dir = Scratch(name);
        File.WriteAllText(Path.Combine(dir, "history.csv"), History.Format(CurvesPlotTests.SyntheticHistory(spikeAt: spike ? 70 : -1)));
        return dir;
    }

    [Fact]
    public void Several_runs_go_on_shared_axes_named_in_the_legend()
    {
        var spiky = WriteRun("spiky", spike: true);
        var clipped = WriteRun("clipped");
        var png = Path.Combine(Scratch("out"), "compare.png");
        var r = CliRunner.Run("plot", spiky, clipped, "-o", png, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        Assert.Equal(["loss", "accuracy"], o["metrics"]!.AsArray().Select(m => (string)m!));
        Assert.Equal(["spiky", "clipped"], o["runs"]!.AsArray().Select(m => (string)m!));
        ImageAssert.Png(png, 1200, 450);

        // A history.csv path works as well as its run directory; one metric gives one panel.
        var svg = Path.Combine(Scratch("out"), "grad.svg");
        r = CliRunner.Run("plot", Path.Combine(spiky, "history.csv"), clipped, "--metric", "grad_norm", "-o", svg);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"wrote {svg}: grad_norm of spiky, clipped", r.Stdout.Trim());
        var texts = ImageAssert.SvgTexts(svg);
        Assert.Contains("Gradient norm", texts);
        Assert.Contains("spiky train (smoothed)", texts);
        Assert.Contains("clipped train (smoothed)", texts);
    }

    // tab10's first colours: the plot gives run r the r-th.
    private static readonly string[] SeriesColours = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728"];

    /// <summary>Stroke colour → number of 2-pixel-wide paths (the series lines; grid and axes are thinner or black).</summary>
    private static Dictionary<string, int> SeriesStrokes(string svg) =>
        System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(svg), "<path [^>]*stroke=\"(#[0-9A-F]{6})\" stroke-width=\"2\"")
            .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.Count());

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_pictures_hold_one_series_colour_per_run(int count)
    {
        var runs = Enumerable.Range(0, count).Select(i => WriteRun($"run{i}", spike: i == 1)).ToArray();
        var svg = Path.Combine(Scratch("out"), $"series{count}.svg");
        var r = CliRunner.Run(["plot", .. runs, "-o", svg], null);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr); // no native "Unsupported path effect" noise from dashes in SVG
        var strokes = SeriesStrokes(svg);
        if (count == 1)
        {
            // One run: train blue, validation orange, each in both panels (and its legend swatch).
            Assert.Equal(SeriesColours[..2], strokes.Keys.Order());
        }
        else
        {
            Assert.Equal(SeriesColours[..count].Order(), strokes.Keys.Order());
            // Each run: smoothed train and val lines in the loss and accuracy panels, and their legend swatches.
            Assert.Single(strokes.Values.Distinct());
            var texts = ImageAssert.SvgTexts(svg);
            // ScottPlot lays a panel out in two passes and the SVG keeps both, so counts are compared, not fixed.
            Assert.Single(runs.Select(run => texts.Count(t => t == $"{Path.GetFileName(run)} val (per epoch)")).Distinct());
            Assert.True(texts.Count(t => t == $"{Path.GetFileName(runs[0])} val (per epoch)") >= 2, "a legend entry per panel");
        }

        // The PNG of the same runs: every run's colour is really drawn (pixels of exactly that colour).
        var png = Path.Combine(Scratch("out"), $"series{count}.png");
        r = CliRunner.Run(["plot", .. runs, "-o", png], null);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var bitmap = ImageAssert.Png(png, 1200, 450);
        var pixels = new Dictionary<SkiaSharp.SKColor, int>();
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++) pixels[bitmap.GetPixel(x, y)] = pixels.GetValueOrDefault(bitmap.GetPixel(x, y)) + 1;
        var used = count == 1 ? 2 : count;
        foreach (var hex in SeriesColours[..used]) Assert.True(pixels.GetValueOrDefault(SkiaSharp.SKColor.Parse(hex)) > 100, $"{hex} drawn in {png}");
        foreach (var hex in SeriesColours[used..]) Assert.Equal(0, pixels.GetValueOrDefault(SkiaSharp.SKColor.Parse(hex)));
    }

    [Fact]
    public void Marks_go_on_the_named_run_and_bad_ones_are_explained()
    {
        var spiky = WriteRun("spiky", spike: true);
        var clipped = WriteRun("clipped");
        var svg = Path.Combine(Scratch("out"), "marked.svg");
        var r = CliRunner.Run("plot", spiky, clipped, "--mark", "spiky=70:loss-spikes", "--mark", "2=120:healthy", "-o", svg, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var markers = JsonNode.Parse(r.Stdout)!["markers"]!.AsArray();
        Assert.Equal("[[{\"step\":70,\"label\":\"loss-spikes\"}],[{\"step\":120,\"label\":\"healthy\"}]]", markers.ToJsonString());
        var texts = ImageAssert.SvgTexts(svg);
        // Each label on both panels (ScottPlot's two layout passes both stay in the SVG), prefixed with its run's name.
        Assert.True(texts.Count(t => t == "spiky: loss-spikes") >= 2, string.Join(" | ", texts));
        Assert.Equal(texts.Count(t => t == "spiky: loss-spikes"), texts.Count(t => t == "clipped: healthy"));
        Assert.DoesNotContain(texts, t => t.Contains("spiky: healthy", StringComparison.Ordinal) || t.Contains("clipped: loss-spikes", StringComparison.Ordinal));

        r = CliRunner.Run("plot", spiky, "--mark", "70:spike", "-o", Path.Combine(Scratch("out"), "one.svg"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("spike", ImageAssert.SvgTexts(Path.Combine(Scratch("out"), "one.svg")));

        foreach (var (mark, message) in new[]
        {
            ("70:spike", "plot: --mark '70:spike' does not say which of the 2 runs it marks; write RUN=STEP:LABEL with RUN one of spiky, clipped or 1..2"),
            ("other=70:spike", "plot: --mark 'other=70:spike': no run 'other'; the runs are spiky, clipped (or 1..2)"),
            ("3=70:spike", "plot: --mark '3=70:spike': no run '3'; the runs are spiky, clipped (or 1..2)"),
            ("spiky=seventy:spike", "plot: --mark 'spiky=seventy:spike' is not STEP:LABEL or RUN=STEP:LABEL (a whole step number, a non-empty label)"),
            ("spiky=70", "plot: --mark 'spiky=70' is not STEP:LABEL or RUN=STEP:LABEL (a whole step number, a non-empty label)"),
        })
        {
            r = CliRunner.Run("plot", spiky, clipped, "--mark", mark, "-o", Path.Combine(Scratch("out"), "bad.svg"));
            Assert.True(r.ExitCode == 1, r.ToString());
            Assert.Equal(["loom: " + message], r.StderrLines);
        }
    }

    [Fact]
    public void One_run_directory_defaults_to_its_curves_png()
    {
        var run = WriteRun("single");
        var r = CliRunner.Run("plot", run);
        Assert.True(r.ExitCode == 0, r.ToString());
        ImageAssert.Png(Path.Combine(run, "curves.png"), 1200, 450);
        r = CliRunner.Run("plot", run, "--metric", "lr");
        Assert.True(r.ExitCode == 0, r.ToString());
        ImageAssert.Png(Path.Combine(run, "lr.png"), 600, 450);
    }

    [Fact]
    public void Bad_requests_get_one_line_naming_the_problem()
    {
        var empty = Scratch("no-history");
        var r = CliRunner.Run("plot", empty, "-o", Path.Combine(empty, "x.png"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal([$"loom: plot: {empty} has no history.csv (looked for {Path.Combine(empty, "history.csv")})"], r.StderrLines);

        var run = WriteRun("metric");
        r = CliRunner.Run("plot", run, "--metric", "perplexity");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal(["loom: plot: unknown metric 'perplexity'; known: loss, accuracy, lr, grad_norm"], r.StderrLines);

        r = CliRunner.Run("plot", run, run);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal(["loom: plot: give the picture to write with -o FILE.png or -o FILE.svg (a default exists only for a single run directory)"], r.StderrLines);

        r = CliRunner.Run("plot", run, "-o", Path.Combine(run, "x.gif"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal([$"loom: {Path.Combine(run, "x.gif")}: cannot tell the image format from '.gif'; use .png or .svg"], r.StderrLines);
    }
}
