using Loom.Training;

namespace Loom.Diagnostics.TensorBoard;

/// <summary>
/// The trainer's TensorBoard sink: every <c>history.csv</c> row also goes to the run's event file as one event of
/// scalars tagged <c>&lt;split&gt;/&lt;column&gt;</c> (<c>train/loss</c>, <c>train/accuracy</c>, <c>train/lr</c>,
/// <c>train/grad_norm</c> per step; <c>val/loss</c>, <c>val/accuracy</c>, <c>val/lr</c> per epoch), so
/// <c>tensorboard --logdir runs</c> shows Loom runs side by side. Empty (NaN) cells are left out. The trainer
/// hands it to <see cref="History.AddSink"/>, so it sees exactly the rows <c>history.csv</c> gets, flushed with it.
/// </summary>
/// <remarks>
/// Every run (and every resumption) writes a new file; TensorBoard reads all of a directory's files in name order.
/// The files hold wall-clock times, so unlike <c>history.csv</c> they differ between two otherwise identical runs.
/// </remarks>
public sealed class TensorBoardLog : IHistorySink
{
    private readonly EventFileWriter _writer;

    private TensorBoardLog(EventFileWriter writer) => _writer = writer;

    /// <summary>The event file written.</summary>
    public string Path => _writer.Path;

    /// <summary>Starts a new event file in <paramref name="runDirectory"/>.</summary>
    public static TensorBoardLog Open(string runDirectory) => new(EventFileWriter.Create(runDirectory));

    /// <summary>Logs <paramref name="row"/> at its step.</summary>
    public void Add(HistoryRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var split = row.Split;
        _writer.WriteScalars(row.Step,
        [
            (split + "/loss", row.Loss),
            (split + "/accuracy", row.Accuracy),
            (split + "/lr", row.Lr),
            (split + "/grad_norm", row.GradNorm),
        ]);
    }

    /// <summary>Writes what is queued to disk (with every flush of the history: each epoch's checkpoint, and the end).</summary>
    public void Flush() => _writer.Flush();

    public void Dispose() => _writer.Dispose();

    /// <summary>
    /// Appends a PNG image event (e.g. <c>curves.png</c> at the end of training) to the newest event file of
    /// <paramref name="runDirectory"/>, or to a new one when it has none.
    /// </summary>
    public static string AppendImage(string runDirectory, string tag, byte[] png, long step)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        var files = EventFileReader.Find(runDirectory);
        using var writer = files.Count > 0 ? EventFileWriter.Append(files[^1]) : EventFileWriter.Create(runDirectory);
        writer.WriteImage(step, tag, png);
        return writer.Path;
    }
}
