namespace Loom.Optim;

/// <summary>Whether <see cref="ReduceLROnPlateau"/>'s metric should fall (a loss) or rise (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> decides that a metric improved on the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>By a fraction: better than best·(1 ∓ threshold).</summary>
    Rel,

    /// <summary>By an amount: better than best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Cuts the rate by <c>factor</c> when a metric has stopped improving for more than <c>patience</c> epochs (PyTorch's
/// <c>ReduceLROnPlateau</c>). Each <see cref="Step(double)"/>: if the metric beats the best (mode <c>Min</c>,
/// <c>Rel</c>: <c>m &lt; best·(1 − threshold)</c>; <c>Abs</c>: <c>m &lt; best − threshold</c>; mirrored for
/// <c>Max</c>) it becomes the best and the bad-epoch count resets, else the count grows; during <c>cooldown</c> epochs
/// after a cut bad epochs are not counted; when the count exceeds <c>patience</c> every group's rate becomes
/// <c>max(lr·factor, min_lr)</c> (unless that changes it by no more than <c>eps</c>).
/// </summary>
/// <example>
/// <code>
/// var sched = new ReduceLROnPlateau(opt, factor: 0.5, patience: 3);
/// // after each epoch: sched.Step(validationLoss);
/// </code>
/// </example>
public sealed class ReduceLROnPlateau : ILrScheduler
{
    private const string Name = "reduce_lr_on_plateau";
    private readonly double[] _minLrs;
    private readonly double[] _lastLr;

    /// <summary>Watches a metric for <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimiser whose rates this cuts.</param>
    /// <param name="mode">Whether the metric should fall or rise.</param>
    /// <param name="factor">The factor a cut multiplies by, in (0, 1).</param>
    /// <param name="patience">Bad epochs tolerated before a cut; ≥ 0.</param>
    /// <param name="threshold">How much better counts as better; ≥ 0.</param>
    /// <param name="thresholdMode">Whether <paramref name="threshold"/> is relative or absolute.</param>
    /// <param name="cooldown">Epochs after a cut during which bad epochs are not counted; ≥ 0.</param>
    /// <param name="minLr">The lowest rate of every group; ≥ 0.</param>
    /// <param name="minLrs">The lowest rate of each group (overrides <paramref name="minLr"/>).</param>
    /// <param name="eps">Cuts smaller than this are skipped; ≥ 0.</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0,
        IReadOnlyList<double>? minLrs = null, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var check = new OptionCheck(Name);
        if (!(factor > 0 && factor < 1)) check.Fail($"factor must be in (0, 1), got {factor}");
        check.AtLeast(patience, 0, "patience");
        check.NonNegative(threshold, "threshold");
        check.AtLeast(cooldown, 0, "cooldown");
        check.NonNegative(eps, "eps");
        if (!Enum.IsDefined(mode)) check.Fail($"mode must be Min or Max, got {mode}");
        if (!Enum.IsDefined(thresholdMode)) check.Fail($"threshold_mode must be Rel or Abs, got {thresholdMode}");
        var groups = optimizer.ParamGroups.Count;
        if (minLrs is not null && minLrs.Count != groups)
            check.Fail($"expected {groups} values of min_lr (one per parameter group), got {minLrs.Count}");
        _minLrs = minLrs is null ? [.. Enumerable.Repeat(minLr, groups)] : [.. minLrs];
        foreach (var m in _minLrs) check.NonNegative(m, "min_lr");

        Optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Eps = eps;
        Best = WorstValue;
        _lastLr = [.. optimizer.ParamGroups.Select(g => g.Lr)];
    }

    /// <summary>The optimiser whose rates this cuts.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Whether the metric should fall or rise.</summary>
    public PlateauMode Mode { get; }

    /// <summary>The factor of a cut.</summary>
    public double Factor { get; }

    /// <summary>Bad epochs tolerated before a cut.</summary>
    public int Patience { get; }

    /// <summary>How much better counts as better.</summary>
    public double Threshold { get; }

    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>Epochs after a cut during which bad epochs are not counted.</summary>
    public int Cooldown { get; }

    /// <summary>The lowest rate of each group.</summary>
    public IReadOnlyList<double> MinLrs => _minLrs;

    /// <summary>Cuts smaller than this are skipped.</summary>
    public double Eps { get; }

    /// <summary>The best metric so far (±∞ before the first step).</summary>
    public double Best { get; private set; }

    /// <summary>Epochs since the metric last improved (not counting cooldown).</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>Cooldown epochs left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Number of <see cref="Step(double)"/> calls so far.</summary>
    public int LastEpoch { get; private set; }

    private double WorstValue => Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>Records this epoch's metric and cuts the rates if it has stalled.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else
        {
            NumBadEpochs++;
        }
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            NumBadEpochs = 0;   // bad epochs in cooldown do not count
        }
        if (NumBadEpochs > Patience)
        {
            var groups = Optimizer.ParamGroups;
            for (var g = 0; g < groups.Count; g++)
            {
                var old = groups[g].Lr;
                var cut = Math.Max(old * Factor, _minLrs[g]);
                if (old - cut > Eps) groups[g].Lr = cut;
            }
            CooldownCounter = Cooldown;
            NumBadEpochs = 0;
        }
        var all = Optimizer.ParamGroups;
        for (var g = 0; g < _lastLr.Length; g++) _lastLr[g] = all[g].Lr;
    }

    private bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (Threshold + 1),
        _ => a > best + Threshold,
    };

    /// <inheritdoc/>
    public IReadOnlyList<double> GetLastLr() => _lastLr;

    /// <summary>The counters: <c>last_epoch</c>, <c>best</c>, <c>num_bad_epochs</c>, <c>cooldown_counter</c>,
    /// <c>last_lr.{g}</c>.</summary>
    public SchedulerStateDict StateDict()
    {
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["last_epoch"] = LastEpoch,
            ["best"] = Best,
            ["num_bad_epochs"] = NumBadEpochs,
            ["cooldown_counter"] = CooldownCounter,
        };
        for (var g = 0; g < _lastLr.Length; g++) scalars[$"last_lr.{g}"] = _lastLr[g];
        return new SchedulerStateDict(Name, scalars);
    }

    /// <inheritdoc/>
    public void LoadStateDict(SchedulerStateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != Name)
            throw new LoomException($"{Name}: cannot load the state of a '{state.Kind}' schedule");
        var reader = new ScalarReader(state.Scalars, Name);
        var lastEpoch = reader.GetInt("last_epoch", 0);
        var best = reader.Get("best");
        var bad = reader.GetInt("num_bad_epochs", 0);
        var cooldown = reader.GetInt("cooldown_counter", 0);
        var last = new double[_lastLr.Length];
        for (var g = 0; g < last.Length; g++) last[g] = reader.Get($"last_lr.{g}");
        reader.RejectUnused();
        LastEpoch = lastEpoch;
        Best = best;
        NumBadEpochs = bad;
        CooldownCounter = cooldown;
        last.CopyTo(_lastLr, 0);
    }
}
