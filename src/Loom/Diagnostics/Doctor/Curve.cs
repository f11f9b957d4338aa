using Loom.Training;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// The training split of a history as arrays (one entry per step) with the robust trend every check shares: the
/// rolling median of the loss, the robust local spread around it, and the reference scale.
/// </summary>
internal sealed class Curve
{
    public Curve(IReadOnlyList<HistoryRow> rows, int? classes, int? window = null)
    {
        var train = rows.Where(r => r.Split == "train").ToList();
        // A history with no per-step rows (only evaluations) is still a curve.
        if (train.Count == 0) train = [.. rows];
        Steps = [.. train.Select(r => r.Step)];
        EpochOf = [.. train.Select(r => r.Epoch)];
        Loss = [.. train.Select(r => r.Loss)];
        Accuracy = [.. train.Select(r => r.Accuracy)];
        GradNorm = [.. train.Select(r => r.GradNorm)];
        Val = [.. rows.Where(r => r.Split == "val")];
        Classes = classes is > 1 ? classes : null;
        var n = Steps.Length;
        Window = window is { } w ? Math.Max(3, w) | 1 : Math.Clamp((int)Math.Round(n * DoctorThresholds.WindowFraction), DoctorThresholds.MinWindow, DoctorThresholds.MaxWindow) | 1;
        Edge = Math.Max(Window, (int)Math.Round(n * DoctorThresholds.EdgeFraction));
        Trend = RobustStats.RollingMedian(Loss, Window);
        var residual = new double[n];
        for (var i = 0; i < n; i++) residual[i] = Math.Abs(Loss[i] - Trend[i]);
        Spread = RobustStats.RollingMedian(residual, Window);
        for (var i = 0; i < n; i++) Spread[i] *= DoctorThresholds.MadToSigma;
        InitialLoss = RobustStats.Median(Loss.AsSpan(0, Math.Min(n, DoctorThresholds.InitialSteps)));
        Head = RobustStats.Median(Loss.AsSpan(0, Math.Min(n, Edge)));
        Tail = RobustStats.Median(Loss.AsSpan(Math.Max(0, n - Edge)));
        Scale = Classes is { } c ? Math.Log(c) : double.IsFinite(Head) && Head > 0 ? Head : 1.0;
    }

    public long[] Steps { get; }

    public int[] EpochOf { get; }

    public double[] Loss { get; }

    public double[] Accuracy { get; }

    public double[] GradNorm { get; }

    public IReadOnlyList<HistoryRow> Val { get; }

    public int? Classes { get; }

    public int Count => Steps.Length;

    /// <summary>W, the rolling window in steps (odd).</summary>
    public int Window { get; }

    /// <summary>Steps in the head and in the tail.</summary>
    public int Edge { get; }

    /// <summary>Rolling median of the loss.</summary>
    public double[] Trend { get; }

    /// <summary>1.4826 × rolling median of |loss − trend|: the local noise level.</summary>
    public double[] Spread { get; }

    /// <summary>Median of the first <see cref="DoctorThresholds.InitialSteps"/> losses.</summary>
    public double InitialLoss { get; }

    /// <summary>Median loss of the head (first <see cref="Edge"/> steps) and of the tail (last).</summary>
    public double Head { get; }

    public double Tail { get; }

    /// <summary>ln C when C is known, else the head median: what "large" means for this loss.</summary>
    public double Scale { get; }

    public bool HasGradNorms => GradNorm.Any(double.IsFinite);

    /// <summary>Rolling median of the grad norms (computed once, shared by the spike and gradient checks).</summary>
    public double[] GradTrend => _gradTrend ??= RobustStats.RollingMedian(GradNorm, Window);

    private double[]? _gradTrend;

    public bool HasAccuracy => Accuracy.Any(double.IsFinite);

    /// <summary>The distinct epochs of some step indices, in order.</summary>
    public IReadOnlyList<int> EpochsOf(IEnumerable<int> indices) => [.. indices.Select(i => EpochOf[i]).Distinct().Order()];

    public IReadOnlyList<long> StepsOf(IEnumerable<int> indices) => [.. indices.Select(i => Steps[i])];
}
