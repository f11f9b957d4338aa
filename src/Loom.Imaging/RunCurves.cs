using Loom.Training;

namespace Loom.Imaging;

/// <summary>
/// A mark on the curves at <paramref name="Step"/>: a dashed vertical line with <paramref name="Label"/> at its top.
/// The hook for the loss-curve doctor's findings (e.g. <c>(412, "loss-spikes")</c>).
/// </summary>
/// <param name="Step">The training step (the x axis of every panel).</param>
/// <param name="Label">A short text drawn next to the line.</param>
public sealed record PlotMarker(long Step, string Label);

/// <summary>One run's history to draw, under <paramref name="Name"/> in the legend, with optional markers.</summary>
/// <param name="Name">The run's name in legends and titles (e.g. its directory name).</param>
/// <param name="Rows">Its <c>history.csv</c> rows (<see cref="History.Read"/>).</param>
public sealed record RunCurves(string Name, IReadOnlyList<HistoryRow> Rows)
{
    /// <summary>Steps to mark on every panel (see <see cref="PlotMarker"/>); none by default.</summary>
    public IReadOnlyList<PlotMarker> Markers { get; init; } = [];

    /// <summary>Reads a run's history: <paramref name="path"/> is a run directory or a <c>history.csv</c> file.</summary>
    /// <remarks>
    /// A directory without <c>history.csv</c> is an error naming the file looked for. The name is the directory's
    /// name (for a <c>history.csv</c> path, the name of the folder holding it).
    /// </remarks>
    public static RunCurves Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        string file;
        if (Directory.Exists(full))
        {
            file = new RunDirectory(full).History;
            if (!File.Exists(file)) throw new LoomException($"plot: {full} has no history.csv (looked for {file})");
        }
        else if (File.Exists(full))
        {
            file = full;
        }
        else
        {
            throw new LoomException($"plot: {full} does not exist (give a run directory or a history.csv file)");
        }
        var folder = Path.GetDirectoryName(file)!;
        var name = Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar));
        if (!string.Equals(Path.GetFileName(file), "history.csv", StringComparison.OrdinalIgnoreCase)) name = Path.GetFileNameWithoutExtension(file);
        return new RunCurves(name.Length > 0 ? name : Path.GetFileNameWithoutExtension(file), History.Read(file));
    }
}

/// <summary>How <see cref="CurvesPlot"/> draws: size, panels, smoothing, title.</summary>
public sealed record CurvesPlotOptions
{
    /// <summary>Image width in pixels (default 1200: two panels of 600).</summary>
    public int Width { get; init; } = 1200;

    /// <summary>Image height in pixels (default 450).</summary>
    public int Height { get; init; } = 450;

    /// <summary>The panels, side by side, left to right; default loss then accuracy. A panel no run has values for is left out.</summary>
    public IReadOnlyList<CurveMetric> Metrics { get; init; } = [CurveMetric.Loss, CurveMetric.Accuracy];

    /// <summary>
    /// The window, in steps, of the centred moving average drawn over per-step values (1: no smoothed line); null
    /// chooses about a twenty-fifth of the run's steps. The raw values are drawn faint underneath.
    /// </summary>
    public int? SmoothingWindow { get; init; }

    /// <summary>Prefix of every panel title (e.g. the run's name); the panel's metric follows.</summary>
    public string? Title { get; init; }
}
