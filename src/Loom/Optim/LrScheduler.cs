namespace Loom.Optim;

/// <summary>What every learning-rate schedule offers, <see cref="ReduceLROnPlateau"/> included: the last rates it
/// set and a state dict for exact resume.</summary>
public interface ILrScheduler
{
    /// <summary>The learning rate of each parameter group as the schedule last set it (PyTorch's <c>get_last_lr()</c>).</summary>
    IReadOnlyList<double> GetLastLr();

    /// <summary>The schedule's counters and rates; see <see cref="SchedulerStateDict"/>.</summary>
    SchedulerStateDict StateDict();

    /// <summary>Restores a state dict made by a schedule of the same kind and configuration.</summary>
    void LoadStateDict(SchedulerStateDict state);
}

/// <summary>
/// Base of the epoch- or step-driven schedules (PyTorch's <c>LRScheduler</c>). Construction records each group's
/// <see cref="ParamGroup.InitialLr"/> (once, by the first schedule attached) as its base rate and sets the rate for
/// epoch 0; each <see cref="Step"/> advances <see cref="LastEpoch"/> and sets the groups' rates from the schedule's
/// closed form. Call <see cref="Step"/> after <see cref="Optimizer.Step"/>, once per epoch or once per batch.
/// </summary>
/// <remarks>
/// PyTorch's schedules step by a recursive ("chainable") form that reads the optimiser's current rate; Loom uses the
/// closed forms, which give the same rates (to rounding) whenever the schedule alone sets the rate — which is also
/// how <see cref="SequentialLR"/> uses them. A rate set by hand between steps is overwritten at the next step.
/// </remarks>
public abstract class LrScheduler : ILrScheduler
{
    private readonly double[] _baseLrs;
    private readonly double[] _lastLr;
    private int _pendingEpoch;
    private double[]? _pendingBase;
    private double[]? _pendingLast;

    private protected LrScheduler(Optimizer optimizer, string name, IReadOnlyList<double>? initialLrs = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        Name = name;
        var groups = optimizer.ParamGroups;
        for (var g = 0; g < groups.Count; g++)
        {
            if (initialLrs is not null) groups[g].InitialLr = initialLrs[g];
            else groups[g].InitialLr ??= groups[g].Lr;
        }
        _baseLrs = [.. groups.Select(g => g.InitialLr!.Value)];
        _lastLr = [.. groups.Select(g => g.Lr)];
        LastEpoch = -1;
    }

    /// <summary>The optimiser whose groups' rates this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The schedule's name in messages and state dicts (<c>step_lr</c>, <c>cosine_annealing_lr</c>, …).</summary>
    public string Name { get; }

    /// <summary>The index of the last epoch (or step) the rates were set for: 0 after construction.</summary>
    public int LastEpoch { get; private protected set; }

    /// <summary>Each group's base rate (its <see cref="ParamGroup.InitialLr"/> when the schedule was made).</summary>
    public IReadOnlyList<double> BaseLrs => _baseLrs;

    /// <inheritdoc/>
    public IReadOnlyList<double> GetLastLr() => _lastLr;

    /// <summary>Advances one epoch (or step) and sets every group's learning rate.</summary>
    public virtual void Step() => StepTo(LastEpoch + 1);

    /// <summary>The rate of group <paramref name="group"/> at <paramref name="epoch"/> (the closed form); may also
    /// set other hyper-parameters of the group (<see cref="OneCycleLR"/> cycles momentum).</summary>
    private protected virtual double ComputeLr(int group, int epoch) =>
        throw new InvalidOperationException($"{Name} has no closed form");

    /// <summary>Sets the rates for <paramref name="epoch"/> (PyTorch's deprecated <c>step(epoch)</c>, used by SequentialLR).</summary>
    internal void StepTo(int epoch)
    {
        var groups = Optimizer.ParamGroups;
        if (groups.Count != _baseLrs.Length)
        {
            throw new LoomException($"{Name}: the optimiser has {groups.Count} parameter groups but the schedule was made " +
                $"for {_baseLrs.Length}; make the schedule after adding groups");
        }
        LastEpoch = epoch;
        for (var g = 0; g < groups.Count; g++)
        {
            var lr = ComputeLr(g, epoch);
            groups[g].Lr = lr;
            _lastLr[g] = lr;
        }
    }

    /// <summary>Copies <paramref name="lrs"/> into the last rates (SequentialLR reports its active schedule's).</summary>
    private protected void SetLastLr(IReadOnlyList<double> lrs)
    {
        for (var g = 0; g < _lastLr.Length; g++) _lastLr[g] = lrs[g];
    }

    /// <summary>Moves the epoch counter without setting rates (SequentialLR's "undo" of its schedules' first step).</summary>
    internal void ShiftEpoch(int delta) => LastEpoch += delta;

    /// <inheritdoc/>
    public SchedulerStateDict StateDict()
    {
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
        WriteState(scalars, "");
        return new SchedulerStateDict(Name, scalars);
    }

    /// <inheritdoc/>
    public void LoadStateDict(SchedulerStateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != Name)
            throw new LoomException($"{Name}: cannot load the state of a '{state.Kind}' schedule");
        var reader = new ScalarReader(state.Scalars, Name);
        ReadState(reader, "");
        reader.RejectUnused();
        CommitState();
    }

    /// <summary>Writes <c>last_epoch</c>, <c>base_lrs.{g}</c>, <c>last_lr.{g}</c> under <paramref name="prefix"/>.</summary>
    internal virtual void WriteState(IDictionary<string, double> scalars, string prefix)
    {
        scalars[prefix + "last_epoch"] = LastEpoch;
        for (var g = 0; g < _baseLrs.Length; g++)
        {
            scalars[$"{prefix}base_lrs.{g}"] = _baseLrs[g];
            scalars[$"{prefix}last_lr.{g}"] = _lastLr[g];
        }
    }

    /// <summary>Reads and checks what <see cref="WriteState"/> wrote; <see cref="CommitState"/> applies it.</summary>
    internal virtual void ReadState(ScalarReader reader, string prefix)
    {
        _pendingEpoch = reader.GetInt(prefix + "last_epoch", -1);
        _pendingBase = new double[_baseLrs.Length];
        _pendingLast = new double[_baseLrs.Length];
        for (var g = 0; g < _baseLrs.Length; g++)
        {
            _pendingBase[g] = reader.Get($"{prefix}base_lrs.{g}");
            _pendingLast[g] = reader.Get($"{prefix}last_lr.{g}");
        }
        if (reader.TryGet($"{prefix}base_lrs.{_baseLrs.Length}", out _))
            throw new LoomException($"{Name}: the state dict is for more than the optimiser's {_baseLrs.Length} parameter groups");
    }

    internal virtual void CommitState()
    {
        LastEpoch = _pendingEpoch;
        _pendingBase!.CopyTo(_baseLrs, 0);
        _pendingLast!.CopyTo(_lastLr, 0);
    }
}
