namespace Loom.Optim;

/// <summary>
/// Runs schedules one after another, switching at milestone epochs (PyTorch's <c>SequentialLR</c>): before the first
/// milestone the first schedule steps; at milestone k the (k+1)-th schedule restarts from its epoch 0 and steps from
/// then on. The usual use is a warm-up followed by a decay.
/// </summary>
/// <example>
/// <code>
/// var warm = new LinearLR(opt, startFactor: 0.1, totalIters: 5);
/// var decay = new CosineAnnealingLR(opt, tMax: 95, etaMin: 1e-5);
/// var sched = new SequentialLR(opt, [warm, decay], milestones: [5]);
/// </code>
/// </example>
public sealed class SequentialLR : LrScheduler
{
    private readonly LrScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Chains <paramref name="schedulers"/> (all made for <paramref name="optimizer"/>) and sets the rates
    /// for epoch 0 from the first.</summary>
    /// <param name="optimizer">The optimiser all the schedules set.</param>
    /// <param name="schedulers">The schedules, in order; one more than the milestones.</param>
    /// <param name="milestones">Increasing epochs at which the next schedule takes over.</param>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LrScheduler> schedulers, IReadOnlyList<int> milestones)
        : base(optimizer, "sequential_lr")
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        var check = new OptionCheck(Name);
        if (schedulers.Count == 0) check.Fail("needs at least one schedule");
        for (var i = 0; i < schedulers.Count; i++)
        {
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                check.Fail($"schedule {i} ({schedulers[i].Name}) was made for another optimiser");
            if (schedulers[i] is SequentialLR)
                check.Fail($"schedule {i} is itself a sequential_lr; list its schedules instead");
        }
        if (milestones.Count != schedulers.Count - 1)
            check.Fail($"expected {schedulers.Count - 1} milestones for {schedulers.Count} schedules, got {milestones.Count}");
        for (var i = 1; i < milestones.Count; i++)
        {
            if (milestones[i] <= milestones[i - 1])
                check.Fail($"milestones must increase, got {string.Join(", ", milestones)}");
        }
        _schedulers = [.. schedulers];
        _milestones = [.. milestones];

        // As PyTorch: reset the rates the schedules' constructors set, "undo" their first step, and start the first.
        foreach (var g in optimizer.ParamGroups) g.Lr = g.InitialLr!.Value;
        foreach (var s in _schedulers) s.ShiftEpoch(-1);
        _schedulers[0].Step();
        LastEpoch = 0;
        SetLastLr(_schedulers[0].GetLastLr());
    }

    /// <summary>The chained schedules.</summary>
    public IReadOnlyList<LrScheduler> Schedulers => _schedulers;

    /// <summary>The epochs at which the next schedule takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        var index = Bisect.Right(_milestones, LastEpoch);
        var scheduler = _schedulers[index];
        if (index > 0 && _milestones[index - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        SetLastLr(scheduler.GetLastLr());
    }

    internal override void WriteState(IDictionary<string, double> scalars, string prefix)
    {
        base.WriteState(scalars, prefix);
        for (var k = 0; k < _schedulers.Length; k++) _schedulers[k].WriteState(scalars, $"{prefix}schedulers.{k}.");
    }

    internal override void ReadState(ScalarReader reader, string prefix)
    {
        base.ReadState(reader, prefix);
        for (var k = 0; k < _schedulers.Length; k++) _schedulers[k].ReadState(reader, $"{prefix}schedulers.{k}.");
    }

    internal override void CommitState()
    {
        base.CommitState();
        foreach (var s in _schedulers) s.CommitState();
    }
}
