namespace Loom.Optim;

/// <summary>The hyper-parameters <see cref="AdamOptions"/> and <see cref="AdamWOptions"/> share (PyTorch's
/// <c>betas</c>, <c>eps</c>, <c>amsgrad</c>), with their validation and state-dict scalars.</summary>
public abstract record AdamFamilyOptions : OptimizerOptions
{
    /// <summary>β1, the decay of the first-moment average (PyTorch's <c>betas[0]</c>); in [0, 1).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>β2, the decay of the second-moment average (PyTorch's <c>betas[1]</c>); in [0, 1).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>ε added to the denominator; ≥ 0.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>AMSGrad: divide by the running maximum of the second moment.</summary>
    public bool Amsgrad { get; set; }

    internal override double CycledMomentum
    {
        get => Beta1;
        set => Beta1 = value;
    }

    internal override void Validate(OptionCheck check)
    {
        base.Validate(check);
        AdamRule.Validate(check, Beta1, Beta2, Eps);
    }

    internal override void Write(IDictionary<string, double> scalars, string prefix)
    {
        base.Write(scalars, prefix);
        AdamRule.Write(scalars, prefix, Beta1, Beta2, Eps, Amsgrad);
    }

    internal override void Read(ScalarReader scalars, string prefix)
    {
        base.Read(scalars, prefix);
        (Beta1, Beta2, Eps, Amsgrad) = AdamRule.Read(scalars, prefix);
    }
}
