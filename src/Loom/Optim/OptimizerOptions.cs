namespace Loom.Optim;

/// <summary>
/// Hyper-parameters every optimiser has (PyTorch's <c>lr</c>, <c>weight_decay</c>, <c>maximize</c>). Each optimiser
/// has its own sealed options record (<see cref="SgdOptions"/>, <see cref="AdamOptions"/>, <see cref="AdamWOptions"/>,
/// <see cref="RmsPropOptions"/>) with PyTorch's defaults; <c>with</c> makes per-group variants
/// (<c>defaults with { Lr = 1e-2 }</c>). A <see cref="ParamGroup"/> keeps its own copy, which schedules update.
/// </summary>
public abstract record OptimizerOptions
{
    /// <summary>Learning rate γ (PyTorch's <c>lr</c>). Must be ≥ 0.</summary>
    public double Lr { get; set; } = 1e-3;

    /// <summary>Weight decay λ (PyTorch's <c>weight_decay</c>): an L2 term λθ added to the gradient, except in
    /// <see cref="AdamW"/> where it is decoupled. Must be ≥ 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Ascend the objective instead of descending it (PyTorch's <c>maximize</c>): the gradient's sign is flipped.</summary>
    public bool Maximize { get; set; }

    /// <summary>The momentum <see cref="OneCycleLR"/> cycles: SGD's and RMSprop's <c>momentum</c>, Adam's β1.</summary>
    internal abstract double CycledMomentum { get; set; }

    /// <summary>Throws a <see cref="LoomException"/> naming the first invalid hyper-parameter (PyTorch's rules).</summary>
    internal virtual void Validate(OptionCheck check)
    {
        check.NonNegative(Lr, "lr");
        check.NonNegative(WeightDecay, "weight_decay");
    }

    /// <summary>Writes the hyper-parameters as <c>prefix + name</c> scalars (booleans as 0/1).</summary>
    internal virtual void Write(IDictionary<string, double> scalars, string prefix)
    {
        scalars[prefix + "lr"] = Lr;
        scalars[prefix + "weight_decay"] = WeightDecay;
        scalars[prefix + "maximize"] = Maximize ? 1 : 0;
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    internal virtual void Read(ScalarReader scalars, string prefix)
    {
        Lr = scalars.Get(prefix + "lr");
        WeightDecay = scalars.Get(prefix + "weight_decay");
        Maximize = scalars.GetBool(prefix + "maximize");
    }
}
