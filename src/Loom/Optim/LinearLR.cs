namespace Loom.Optim;

/// <summary>
/// Scales each group's base rate by a factor moving linearly from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> epochs, then constant (PyTorch's <c>LinearLR</c>; the usual warm-up):
/// <c>lr(t) = base · (start + (end − start) · min(t, T) / T)</c>.
/// </summary>
/// <example>
/// <code>
/// var warm = new LinearLR(opt, startFactor: 0.1, totalIters: 5);
/// var cosine = new CosineAnnealingLR(opt, tMax: 95);
/// var sched = new SequentialLR(opt, [warm, cosine], milestones: [5]);
/// </code>
/// </example>
public sealed class LinearLR : LrScheduler
{
    /// <summary>Attaches the schedule and sets the rates for epoch 0.</summary>
    /// <param name="optimizer">The optimiser whose rates this sets.</param>
    /// <param name="startFactor">Factor at epoch 0, in (0, 1].</param>
    /// <param name="endFactor">Factor from epoch <paramref name="totalIters"/> on, in [0, 1].</param>
    /// <param name="totalIters">Epochs of the ramp; ≥ 1.</param>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5)
        : base(optimizer, "linear_lr")
    {
        var check = new OptionCheck(Name);
        if (!(startFactor > 0 && startFactor <= 1)) check.Fail($"start_factor must be in (0, 1], got {startFactor}");
        if (!(endFactor >= 0 && endFactor <= 1)) check.Fail($"end_factor must be in [0, 1], got {endFactor}");
        check.AtLeast(totalIters, 1, "total_iters");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        StepTo(0);
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>Factor at the end of the ramp.</summary>
    public double EndFactor { get; }

    /// <summary>Epochs of the ramp.</summary>
    public int TotalIters { get; }

    private protected override double ComputeLr(int group, int epoch) =>
        BaseLrs[group] * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, epoch) / TotalIters);
}
