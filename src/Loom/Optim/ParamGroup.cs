namespace Loom.Optim;

/// <summary>
/// Parameters that share hyper-parameters, as one entry of PyTorch's <c>optimizer.param_groups</c>.
/// </summary>
/// <example>
/// <code>
/// var defaults = new SgdOptions { Lr = 0.1, Momentum = 0.9 };
/// var sgd = new Sgd([new ParamGroup(backbone, defaults), new ParamGroup(head, defaults with { Lr = 0.01 })]);
/// </code>
/// </example>
public sealed class ParamGroup
{
    /// <summary>A group over <paramref name="parameters"/> with a private copy of <paramref name="options"/>.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters, OptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        Params = [.. parameters];
        Options = options with { };
    }

    /// <summary>The parameters, in the order the state dict numbers them.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>This group's hyper-parameters (its own copy: changing them affects this group only, from the next step).</summary>
    public OptimizerOptions Options { get; internal set; }

    /// <summary>The group's learning rate, as schedules read and write it (<c>param_group['lr']</c>).</summary>
    public double Lr
    {
        get => Options.Lr;
        set => Options.Lr = value;
    }

    /// <summary>The learning rate the first schedule found (PyTorch's <c>initial_lr</c>): the base its formula scales.
    /// Null until a schedule is attached.</summary>
    public double? InitialLr { get; set; }
}
