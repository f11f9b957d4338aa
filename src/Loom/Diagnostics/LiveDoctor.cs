using Loom.Diagnostics.Doctor;
using Loom.Training;

namespace Loom.Diagnostics;

/// <summary>
/// The loss-curve doctor as the Trainer runs it, after every epoch, at a cost per step that does not grow with the run.
/// Diagnosing the whole history every epoch costs O(steps × W) per epoch, so O(epochs² × W) over a run; instead each
/// <see cref="Update"/> reads only the rows added since the last call (O(new rows)) and runs the full
/// <see cref="LossCurveDoctor.Diagnose(IReadOnlyList{HistoryRow}, int?, DoctorOptions?)"/> only when
/// <list type="bullet">
/// <item>the training curve has grown by <see cref="DoctorThresholds.LiveGrowth"/> since the last diagnosis (every
/// epoch while an epoch is more than that): diagnoses spaced geometrically add up to at most
/// 1 + 1/<see cref="DoctorThresholds.LiveGrowth"/> = 9 diagnoses of the final history;</item>
/// <item>a new row holds a NaN/inf loss or an infinite grad norm (the first time): <c>diverged</c> at once;</item>
/// <item>the new rows' median loss is <see cref="DoctorThresholds.LiveLevelRise"/>× the level at the last diagnosis,
/// or it is that much above the lowest level diagnosed, for one schedule interval from the rise (every epoch): a finite
/// divergence is found the epoch it shows. These extra diagnoses need the loss to rise, so they are few unless the
/// loss keeps rising — the divergence they are there to stop (LiveDoctorTests bounds the total on the corpus and the
/// course's 100-epoch run).</item>
/// </list>
/// Every report it returns is exactly the batch doctor's on the rows so far (it is that call), and <see cref="Finish"/>
/// is the batch report on the whole history; between diagnoses a new code waits at most until the curve has grown by
/// <see cref="DoctorThresholds.LiveGrowth"/>.
/// </summary>
/// <example>
/// <code>
/// var live = new LiveDoctor(classes: 4);
/// // after each epoch:
/// if (live.Update(history.Rows) is { } report) foreach (var f in report.Findings) Console.WriteLine(f.Code);
/// </code>
/// </example>
public sealed class LiveDoctor
{
    private readonly int? _classes;
    private readonly DoctorOptions? _options;
    private readonly List<double> _newLosses = [];
    private int _seen;
    private int _trainRows;
    private int _diagnosedTrainRows = -1;
    private double _levelAtDiagnosis = double.NaN;
    private double _lowestLevel = double.NaN;
    private long _watchUntil = -1;
    private bool _nonFiniteSeen;

    public LiveDoctor(int? classes, DoctorOptions? options = null)
    {
        _classes = classes;
        _options = options;
    }

    /// <summary>Full diagnoses run so far (scheduled, triggered and <see cref="Finish"/>).</summary>
    public int Diagnoses { get; private set; }

    /// <summary>Rows those diagnoses read, summed: the doctor's work over the run (compare with the history's length).</summary>
    public long RowsDiagnosed { get; private set; }

    /// <summary>
    /// Reads the rows added since the last call (<paramref name="rows"/> is the whole history so far, only ever
    /// appended to) and returns the batch report on all of them when a diagnosis is due, else null.
    /// </summary>
    public DoctorReport? Update(IReadOnlyList<HistoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count < _seen) throw new InvalidOperationException($"live doctor: the history shrank from {_seen} to {rows.Count} rows (it only reads appended rows)");
        var nonFinite = false;
        _newLosses.Clear();
        for (var i = _seen; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.Split == "train")
            {
                _trainRows++;
                if (double.IsFinite(r.Loss)) _newLosses.Add(r.Loss);
                if (!double.IsFinite(r.Loss) || double.IsInfinity(r.GradNorm)) nonFinite = true;
            }
            else if (r.Split == "val" && !double.IsFinite(r.Loss)) nonFinite = true;
        }
        _seen = rows.Count;
        var level = RobustStats.Median(_newLosses.ToArray());
        // Elevated: the loss is LiveLevelRise× the lowest level diagnosed. A finite divergence shows only once the tail
        // of the curve is up too (its median over the last 10 % of the steps), so the doctor watches every epoch for
        // one schedule interval (LiveGrowth of the run) from the rise, not just the epoch of the rise.
        var elevated = double.IsFinite(level) && level >= DoctorThresholds.LiveLevelRise * _lowestLevel;
        if (!elevated) _watchUntil = -1;
        else if (_watchUntil < 0) _watchUntil = _trainRows + (long)Math.Ceiling(_trainRows * DoctorThresholds.LiveGrowth);
        var due = _trainRows >= NextScheduled()
                  || (nonFinite && !_nonFiniteSeen)
                  || (double.IsFinite(level) && level >= DoctorThresholds.LiveLevelRise * _levelAtDiagnosis)
                  || (elevated && _trainRows <= _watchUntil);
        _nonFiniteSeen |= nonFinite;
        if (!due || rows.Count == 0) return null;
        _diagnosedTrainRows = _trainRows;
        if (double.IsFinite(level))
        {
            _levelAtDiagnosis = level;
            if (!(level >= _lowestLevel)) _lowestLevel = level;
        }
        return Diagnose(rows);
    }

    /// <summary>The report on the whole history (the batch doctor's, as <c>doctor.md</c> has it).</summary>
    public DoctorReport Finish(IReadOnlyList<HistoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return Diagnose(rows);
    }

    /// <summary>Training rows at which the next scheduled diagnosis is due: the curve grown by <see cref="DoctorThresholds.LiveGrowth"/>.</summary>
    private long NextScheduled() =>
        _diagnosedTrainRows < 0 ? 0 : _diagnosedTrainRows + Math.Max(1, (long)Math.Ceiling(_diagnosedTrainRows * DoctorThresholds.LiveGrowth));

    private DoctorReport Diagnose(IReadOnlyList<HistoryRow> rows)
    {
        Diagnoses++;
        RowsDiagnosed += rows.Count;
        return LossCurveDoctor.Diagnose(rows, _classes, _options);
    }
}
