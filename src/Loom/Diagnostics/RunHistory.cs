using Loom.Training;

namespace Loom.Diagnostics;

/// <summary>
/// A run's history as the doctor reads it: the validated rows of <c>history.csv</c> (see <see cref="History.Read"/>:
/// missing columns, non-numeric values, no rows and decreasing steps are errors naming the line), and the number of
/// classes from the run's <c>config.json</c> when there is one.
/// </summary>
public sealed record RunHistory(string Name, string HistoryPath, RunDirectory? Run, IReadOnlyList<HistoryRow> Rows, int? Classes, double? Clip = null, double? Lr = null, string? Schedule = null, int? Epochs = null)
{
    /// <summary>
    /// Reads <paramref name="path"/>: a run directory (its <c>history.csv</c>, and <c>config.json</c> for the classes) or a
    /// history CSV file (its folder's <c>config.json</c> is read when present).
    /// </summary>
    public static RunHistory Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            var run = new RunDirectory(path);
            if (!File.Exists(run.History))
                throw new LoomException($"doctor: {run.Path} has no history.csv (looked for {run.History}; is it a Loom run directory?)");
            var config = ConfigOf(run);
            return new RunHistory(Path.GetFileName(run.Path), run.History, run, History.Read(run.History), ClassesIn(config), config?.Clip, config?.Lr, config?.Schedule, config?.Epochs);
        }
        if (!File.Exists(path)) throw new LoomException($"doctor: {path} does not exist (expected a run directory or a history.csv file)");
        var full = Path.GetFullPath(path);
        var folder = new RunDirectory(Path.GetDirectoryName(full)!);
        var name = Path.GetFileName(full).Equals("history.csv", StringComparison.OrdinalIgnoreCase) ? Path.GetFileName(folder.Path) : Path.GetFileNameWithoutExtension(full);
        var beside = ConfigOf(folder);
        return new RunHistory(name, full, null, History.Read(full), ClassesIn(beside), beside?.Clip, beside?.Lr, beside?.Schedule, beside?.Epochs);
    }

    /// <summary>The doctor's options for this run (its clipping norm, rate, schedule and epochs, from config.json).</summary>
    public DoctorOptions Options(int? window = null) => new() { Window = window, Clip = Clip, Lr = Lr, Schedule = Schedule, Epochs = Epochs };

    private static TrainConfig? ConfigOf(RunDirectory run) => File.Exists(run.Config) ? run.ReadConfig() : null;

    private static int? ClassesIn(TrainConfig? config) => config is { NumClasses: > 1 } ? config.NumClasses : null;
}
