namespace Loom.Optim;

/// <summary>
/// Multiplies each group's rate by γ at each milestone epoch (PyTorch's <c>MultiStepLR</c>; a milestone listed twice
/// applies γ twice): <c>lr(t) = base · γ^(number of milestones ≤ t)</c>.
/// </summary>
/// <example>
/// <code>
/// var sched = new MultiStepLR(opt, milestones: [30, 80], gamma: 0.1);
/// </code>
/// </example>
public sealed class MultiStepLR : LrScheduler
{
    private readonly int[] _milestones;

    /// <summary>Attaches the schedule and sets the rates for epoch 0.</summary>
    /// <param name="optimizer">The optimiser whose rates this sets.</param>
    /// <param name="milestones">Epochs at which to decay (any order; sorted here).</param>
    /// <param name="gamma">The factor applied at each milestone.</param>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer, "multi_step_lr")
    {
        ArgumentNullException.ThrowIfNull(milestones);
        new OptionCheck(Name).Finite(gamma, "gamma");
        _milestones = [.. milestones.Order()];
        Gamma = gamma;
        StepTo(0);
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    private protected override double ComputeLr(int group, int epoch) =>
        BaseLrs[group] * Math.Pow(Gamma, Bisect.Right(_milestones, epoch));
}

internal static class Bisect
{
    /// <summary>The number of elements ≤ <paramref name="x"/> in the sorted <paramref name="sorted"/> (Python's bisect_right).</summary>
    public static int Right(IReadOnlyList<int> sorted, int x)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (x < sorted[mid]) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
