using Loom.Diagnostics.Doctor;
using Loom.Training;

namespace Loom.Diagnostics;

/// <summary>Options of <see cref="LossCurveDoctor.Diagnose(IReadOnlyList{HistoryRow}, int?, DoctorOptions?)"/>.</summary>
public sealed record DoctorOptions
{
    /// <summary>The rolling window W in steps (odd); null: <see cref="DoctorThresholds.WindowFraction"/> of the steps.</summary>
    public int? Window { get; init; }

    /// <summary>The run's gradient clipping norm (<c>--clip</c>; null or 0: none). The logged grad norms are measured
    /// before clipping, so with clipping on, jumps in them are reported as bounded (info), not as a fault.</summary>
    public double? Clip { get; init; }

    /// <summary>The run's learning rate (<c>--lr</c>, config.json's <c>lr</c>; null: unknown). With it the fixes for
    /// loss spikes are the exact flags to re-run with (<see cref="Doctor.Remedy"/>), not a range.</summary>
    public double? Lr { get; init; }

    /// <summary>The run's schedule (<c>--schedule</c>: none, cosine, onecycle…; null: unknown).</summary>
    public string? Schedule { get; init; }

    /// <summary>The run's epochs (<c>--epochs</c>; null: unknown): a third of the rate needs about three times the steps.</summary>
    public int? Epochs { get; init; }
}

/// <summary>
/// Reads a run's loss curves as a practitioner would, with robust statistics (rolling medians and MADs, so one odd
/// batch never decides), and returns findings with a stable code, the steps they concern, the evidence in numbers, the
/// likely causes and the fixes to try (<see cref="DoctorCodes"/>). Every threshold is a named constant in
/// <see cref="DoctorThresholds"/>. Cheap: O(steps × W log W), well under a millisecond per thousand steps.
/// </summary>
/// <example>
/// <code>
/// var report = LossCurveDoctor.Diagnose(History.Read("runs/spiky/history.csv"), classes: 4);
/// foreach (var f in report.Findings) Console.WriteLine($"{f.Code}: {f.Summary}");
/// </code>
/// </example>
public static class LossCurveDoctor
{
    /// <summary>Diagnoses the rows of a history (see <see cref="History"/>); <paramref name="classes"/> enables the ln C checks.</summary>
    public static DoctorReport Diagnose(IReadOnlyList<HistoryRow> rows, int? classes, DoctorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var curve = new Curve(rows, classes, options?.Window);
        var findings = new List<Finding>();
        var diverged = DivergenceCheck.Run(curve);
        if (diverged is not null) findings.Add(diverged);
        if (curve.Count > 0)
        {
            findings.AddRange(SpikeCheck.Run(curve, options));
            if (!findings.Any(f => f.Code == DoctorCodes.ExplodingGradients) && GradientCheck.Exploding(curve) is { } exploding) findings.Add(exploding);
            if (options?.Clip is > 0 and var clip)
            {
                for (var i = 0; i < findings.Count; i++)
                    if (findings[i].Code == DoctorCodes.ExplodingGradients) findings[i] = GradientCheck.Clipped(findings[i], clip, options);
            }
            if (GradientCheck.Vanishing(curve) is { } vanishing) findings.Add(vanishing);
            var plateau = ChanceCheck.Plateau(curve);
            if (plateau is not null) findings.Add(plateau);
            if (ChanceCheck.InitialLoss(curve) is { } initial) findings.Add(initial);
            if (OverfitCheck.Run(curve) is { } overfit) findings.Add(overfit);
            // A diverged curve or one stuck at chance explains its own shape: bounces on top of it would only repeat it.
            if (diverged is null && plateau is null && TrendCheck.Oscillating(curve) is { } oscillating) findings.Add(oscillating);
            // A loss at chance that creeps down steadily is both at chance and slow: the slow trend names the cause (the rate).
            // Spikes and exploding gradients say the rate is too high: a slow creep then is a broken model settling, not a slow one.
            var tooHigh = findings.Any(f => f.Code is DoctorCodes.LossSpikes or DoctorCodes.ExplodingGradients);
            if (diverged is null && !tooHigh && TrendCheck.Slow(curve) is { } slow) findings.Add(slow);
        }
        if (findings.Count == 0) findings.Add(Healthy(curve));
        findings.Sort((a, b) => Order(a.Code).CompareTo(Order(b.Code)));
        return new DoctorReport(findings, curve.Classes, curve.Count, curve.Count == 0 ? 0 : curve.Steps[^1]);
    }

    /// <summary>Diagnoses the rows of an open <see cref="History"/> (the Trainer's, during training).</summary>
    public static DoctorReport Diagnose(History history, int? classes, DoctorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        return Diagnose(history.Rows, classes, options);
    }

    private static int Order(string code)
    {
        for (var i = 0; i < DoctorCodes.All.Count; i++)
            if (DoctorCodes.All[i] == code) return i;
        return int.MaxValue;
    }

    private static Finding Healthy(Curve c)
    {
        var evidence = new Dictionary<string, double> { ["steps"] = c.Count, ["initial_loss"] = c.InitialLoss, ["final_loss"] = c.Tail };
        if (c.Classes is { } k) evidence["ln_c"] = Math.Log(k);
        var lastVal = c.Val.LastOrDefault(r => double.IsFinite(r.Loss));
        if (lastVal is not null) evidence["last_val_loss"] = lastVal.Loss;
        return new Finding(DoctorCodes.Healthy, Severity.Info, c.Count == 0 ? [] : [c.Steps[0], c.Steps[^1]], c.EpochsOf(Enumerable.Range(0, c.Count)), evidence,
            [], [],
            c.Count == 0 ? "no training steps to judge" : $"no pathology found: the loss went from {Num.F(c.InitialLoss)} to {Num.F(c.Tail)} over {c.Count} steps");
    }
}
