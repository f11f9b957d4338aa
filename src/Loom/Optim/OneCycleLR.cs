namespace Loom.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between two values.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine: <c>end + (start − end)·(1 + cos(π·pct))/2</c>.</summary>
    Cos,

    /// <summary>A straight line: <c>start + (end − start)·pct</c>.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (Smith and Topin; PyTorch's <c>OneCycleLR</c>), stepped once per batch: the rate rises from
/// <c>maxLr / divFactor</c> to <c>maxLr</c> over the first <c>pctStart</c> of <c>totalSteps</c>, then falls to
/// <c>maxLr / divFactor / finalDivFactor</c>; the momentum (SGD's and RMSprop's momentum, Adam's β1) moves the
/// other way between <c>maxMomentum</c> and <c>baseMomentum</c> when <c>cycleMomentum</c> is on.
/// <code>
/// phases (two):   [0, pct·N − 1]: initial → max;   (pct·N − 1, N − 1]: max → initial / finalDivFactor
/// phases (three): [0, pct·N − 1]: initial → max;   (…, 2·pct·N − 2]: max → initial;   (…, N − 1]: initial → min
/// within a phase from s to e: lr = anneal(start, end, (t − s) / (e − s))
/// </code>
/// As in PyTorch, construction sets step 0 and <see cref="LrScheduler.Step"/> may be called <c>totalSteps</c> times
/// (the last call computes the rate for step N, past the end, which no optimiser step uses); more throws.
/// </summary>
/// <example>
/// <code>
/// var sched = new OneCycleLR(opt, maxLr: 0.1, totalSteps: epochs * batchesPerEpoch);
/// // after each batch: opt.Step(); sched.Step();
/// </code>
/// </example>
public sealed class OneCycleLR : LrScheduler
{
    private readonly double[] _maxLrs;
    private readonly double[] _minLrs;
    private readonly Phase[] _phases;

    /// <summary>Attaches the schedule to every group with the same peak rate and sets the rates for step 0.</summary>
    /// <param name="optimizer">The optimiser whose rates (and momenta) this sets.</param>
    /// <param name="maxLr">The peak rate.</param>
    /// <param name="totalSteps">Steps in the cycle; ≥ 1.</param>
    /// <param name="pctStart">Fraction of the cycle spent rising, in [0, 1].</param>
    /// <param name="annealStrategy">Cosine or linear between the phase ends.</param>
    /// <param name="cycleMomentum">Move the momentum inversely to the rate.</param>
    /// <param name="baseMomentum">The momentum at the peak rate.</param>
    /// <param name="maxMomentum">The momentum at the lowest rates.</param>
    /// <param name="divFactor">Initial rate = maxLr / divFactor; &gt; 0.</param>
    /// <param name="finalDivFactor">Final rate = initial rate / finalDivFactor; &gt; 0.</param>
    /// <param name="threePhase">Fall back to the initial rate symmetrically, then anneal to the final rate.</param>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : this(optimizer, Repeat(optimizer, maxLr), totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum,
            maxMomentum, divFactor, finalDivFactor, threePhase)
    {
    }

    /// <summary>Attaches the schedule with one peak rate per parameter group and sets the rates for step 0.</summary>
    /// <param name="optimizer">The optimiser whose rates (and momenta) this sets.</param>
    /// <param name="maxLrs">The peak rate of each group.</param>
    /// <param name="totalSteps">Steps in the cycle; ≥ 1.</param>
    /// <param name="pctStart">Fraction of the cycle spent rising, in [0, 1].</param>
    /// <param name="annealStrategy">Cosine or linear between the phase ends.</param>
    /// <param name="cycleMomentum">Move the momentum inversely to the rate.</param>
    /// <param name="baseMomentum">The momentum at the peak rate.</param>
    /// <param name="maxMomentum">The momentum at the lowest rates.</param>
    /// <param name="divFactor">Initial rate = maxLr / divFactor; &gt; 0.</param>
    /// <param name="finalDivFactor">Final rate = initial rate / finalDivFactor; &gt; 0.</param>
    /// <param name="threePhase">Fall back to the initial rate symmetrically, then anneal to the final rate.</param>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(optimizer, "one_cycle_lr", InitialLrs(optimizer, maxLrs, totalSteps, pctStart, divFactor, finalDivFactor, threePhase))
    {
        TotalSteps = totalSteps;
        PctStart = pctStart;
        Anneal = annealStrategy;
        CycleMomentum = cycleMomentum;
        BaseMomentum = baseMomentum;
        MaxMomentum = maxMomentum;
        _maxLrs = [.. maxLrs];
        _minLrs = [.. BaseLrs.Select(lr => lr / finalDivFactor)];
        _phases = threePhase
            ?
            [
                new(pctStart * totalSteps - 1, LrPoint.Initial, LrPoint.Max, MomentumPoint.Max, MomentumPoint.Base),
                new(2 * pctStart * totalSteps - 2, LrPoint.Max, LrPoint.Initial, MomentumPoint.Base, MomentumPoint.Max),
                new(totalSteps - 1, LrPoint.Initial, LrPoint.Min, MomentumPoint.Max, MomentumPoint.Max),
            ]
            :
            [
                new(pctStart * totalSteps - 1, LrPoint.Initial, LrPoint.Max, MomentumPoint.Max, MomentumPoint.Base),
                new(totalSteps - 1, LrPoint.Max, LrPoint.Min, MomentumPoint.Base, MomentumPoint.Max),
            ];
        if (cycleMomentum)
        {
            foreach (var g in optimizer.ParamGroups) g.Options.CycledMomentum = maxMomentum;
        }
        StepTo(0);
    }

    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>Fraction of the cycle spent rising.</summary>
    public double PctStart { get; }

    /// <summary>Cosine or linear.</summary>
    public AnnealStrategy Anneal { get; }

    /// <summary>Whether the momentum (β1 for Adam) is cycled.</summary>
    public bool CycleMomentum { get; }

    /// <summary>The momentum at the peak rate.</summary>
    public double BaseMomentum { get; }

    /// <summary>The momentum at the lowest rates.</summary>
    public double MaxMomentum { get; }

    /// <inheritdoc/>
    public override void Step()
    {
        if (LastEpoch + 1 > TotalSteps)
            throw new LoomException($"{Name}: Step() called {LastEpoch + 1} times but total_steps is {TotalSteps}; the cycle is over");
        base.Step();
    }

    private protected override double ComputeLr(int group, int epoch)
    {
        double start = 0;
        for (var i = 0; i < _phases.Length; i++)
        {
            var phase = _phases[i];
            if (epoch <= phase.EndStep || i == _phases.Length - 1)
            {
                var pct = (epoch - start) / (phase.EndStep - start);
                if (CycleMomentum)
                {
                    Optimizer.ParamGroups[group].Options.CycledMomentum =
                        AnnealValue(Momentum(phase.StartMomentum), Momentum(phase.EndMomentum), pct);
                }
                return AnnealValue(Lr(phase.StartLr, group), Lr(phase.EndLr, group), pct);
            }
            start = phase.EndStep;
        }
        throw new InvalidOperationException("unreachable: the last phase always matches");
    }

    private double AnnealValue(double start, double end, double pct) => Anneal == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    private double Lr(LrPoint point, int group) => point switch
    {
        LrPoint.Initial => BaseLrs[group],
        LrPoint.Max => _maxLrs[group],
        _ => _minLrs[group],
    };

    private double Momentum(MomentumPoint point) => point == MomentumPoint.Max ? MaxMomentum : BaseMomentum;

    private static double[] Repeat(Optimizer optimizer, double value)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return [.. Enumerable.Repeat(value, optimizer.ParamGroups.Count)];
    }

    /// <summary>Checks the arguments (before the base class touches the optimiser) and returns maxLr / divFactor per group.</summary>
    private static double[] InitialLrs(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart,
        double divFactor, double finalDivFactor, bool threePhase)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(maxLrs);
        var check = new OptionCheck("one_cycle_lr");
        if (maxLrs.Count != optimizer.ParamGroups.Count)
            check.Fail($"expected {optimizer.ParamGroups.Count} values of max_lr (one per parameter group), got {maxLrs.Count}");
        foreach (var lr in maxLrs) check.NonNegative(lr, "max_lr");
        check.AtLeast(totalSteps, 1, "total_steps");
        if (!(pctStart >= 0 && pctStart <= 1)) check.Fail($"pct_start must be in [0, 1], got {pctStart}");
        check.Positive(divFactor, "div_factor");
        check.Positive(finalDivFactor, "final_div_factor");
        // PyTorch divides by each phase's length; a phase of length 0 would give 0/0.
        double[] ends = threePhase
            ? [pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1]
            : [pctStart * totalSteps - 1, totalSteps - 1];
        var start = 0.0;
        for (var i = 0; i < ends.Length; i++)
        {
            if (ends[i] - start == 0)
            {
                check.Fail($"pct_start {pctStart} with total_steps {totalSteps} leaves phase {i + 1} of the cycle no steps; " +
                    "raise total_steps or change pct_start");
            }
            start = ends[i];
        }
        return [.. maxLrs.Select(lr => lr / divFactor)];
    }

    private enum LrPoint
    {
        Initial,
        Max,
        Min,
    }

    private enum MomentumPoint
    {
        Max,
        Base,
    }

    private readonly record struct Phase(double EndStep, LrPoint StartLr, LrPoint EndLr, MomentumPoint StartMomentum, MomentumPoint EndMomentum);
}
