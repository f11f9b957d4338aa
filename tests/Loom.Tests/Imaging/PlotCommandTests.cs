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
