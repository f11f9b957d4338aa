namespace Loom.Optim;

/// <summary>
/// Multiplies each group's rate by γ every <c>stepSize</c> epochs (PyTorch's <c>StepLR</c>):
/// <c>lr(t) = base · γ^⌊t / stepSize⌋</c>.
/// </summary>
/// <example>
/// <code>
/// var sched = new StepLR(opt, stepSize: 30, gamma: 0.1);   // 0.05 → 0.005 at epoch 30 → 0.0005 at 60
/// for (var epoch = 0; epoch &lt; 100; epoch++) { Train(); sched.Step(); }
/// </code>
/// </example>
public sealed class StepLR : LrScheduler
{
    /// <summary>Attaches the schedule and sets the rates for epoch 0.</summary>
    /// <param name="optimizer">The optimiser whose rates this sets.</param>
    /// <param name="stepSize">Epochs between decays; ≥ 1.</param>
    /// <param name="gamma">The factor applied at each decay.</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer, "step_lr")
    {
        var check = new OptionCheck(Name);
        check.AtLeast(stepSize, 1, "step_size");
        check.Finite(gamma, "gamma");
        StepSize = stepSize;
        Gamma = gamma;
        StepTo(0);
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    private protected override double ComputeLr(int group, int epoch) => BaseLrs[group] * Math.Pow(Gamma, epoch / StepSize);
}
