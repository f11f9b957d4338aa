namespace Loom.Optim;

/// <summary>
/// Cosine annealing from each group's base rate down to <c>etaMin</c> over <c>tMax</c> epochs (PyTorch's
/// <c>CosineAnnealingLR</c>, the closed form; past <c>tMax</c> the cosine continues, rising again):
/// <c>lr(t) = η_min + (base − η_min) · (1 + cos(π·t / T_max)) / 2</c>.
/// </summary>
/// <example>
/// <code>
/// var sched = new CosineAnnealingLR(opt, tMax: epochs, etaMin: 1e-5);
/// </code>
/// </example>
public sealed class CosineAnnealingLR : LrScheduler
{
    /// <summary>Attaches the schedule and sets the rates for epoch 0.</summary>
    /// <param name="optimizer">The optimiser whose rates this sets.</param>
    /// <param name="tMax">Epochs (or steps) from the base rate to <paramref name="etaMin"/>; ≥ 1.</param>
    /// <param name="etaMin">The lowest rate.</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer, "cosine_annealing_lr")
    {
        var check = new OptionCheck(Name);
        check.AtLeast(tMax, 1, "T_max");
        check.NonNegative(etaMin, "eta_min");
        TMax = tMax;
        EtaMin = etaMin;
        StepTo(0);
    }

    /// <summary>Epochs of one half cosine.</summary>
    public int TMax { get; }

    /// <summary>The lowest rate.</summary>
    public double EtaMin { get; }

    private protected override double ComputeLr(int group, int epoch) =>
        EtaMin + (BaseLrs[group] - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}
