using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// <c>exploding-gradients</c> from the grad norms alone (non-finite norms, or at least <see cref="MinExplodingEvents"/>
/// steps at <see cref="ExplodingRatio"/>× their rolling median; spikes tied to the loss are reported by
/// <see cref="SpikeCheck"/>), and <c>vanishing-gradients</c>: the norms fall by <see cref="VanishingRatio"/> (or below
/// <see cref="VanishingAbsolute"/>) while the loss is still high.
/// </summary>
internal static class GradientCheck
{
    public static Finding? Exploding(Curve c)
    {
        if (!c.HasGradNorms || c.Count < MinSteps) return null;
        var nonFinite = Enumerable.Range(0, c.Count).Where(i => double.IsInfinity(c.GradNorm[i])).ToList();
        var trend = c.GradTrend;
        // Skip the first W steps: a fresh model's first gradients are often large, and they settle by themselves.
        var jumps = Enumerable.Range(c.Window, Math.Max(0, c.Count - c.Window))
            .Where(i => double.IsFinite(c.GradNorm[i]) && trend[i] > 0 && c.GradNorm[i] >= ExplodingRatio * trend[i]).ToList();
        var events = new List<int>();
        foreach (var i in jumps)
            if (events.Count == 0 || i - events[^1] > SpikeMergeGap) events.Add(i);
        if (nonFinite.Count == 0 && events.Count < MinExplodingEvents) return null;
        var at = nonFinite.Count > 0 ? nonFinite : events;
        var finite = c.GradNorm.Where(double.IsFinite).ToList();
        var evidence = new Dictionary<string, double>
        {
            ["jumps"] = events.Count,
            ["non_finite_grad_norms"] = nonFinite.Count,
            ["median_grad_norm"] = RobustStats.Median([.. finite]),
            ["max_grad_norm"] = finite.Count > 0 ? finite.Max() : double.NaN,
        };
        if (events.Count > 0) evidence["largest_jump_ratio"] = events.Max(i => c.GradNorm[i] / trend[i]);
        return new Finding(DoctorCodes.ExplodingGradients, Severity.Warning, c.StepsOf(at), c.EpochsOf(at), evidence,
            ["long products of Jacobians through time (recurrent models) or depth", "a learning rate too high", "no gradient clipping"],
            ["clip the gradient norm (--clip 1)", "lower the learning rate", "normalisation layers, or gated cells (LSTM/GRU) for a plain RNN"],
            nonFinite.Count > 0
                ? $"{nonFinite.Count} grad norms are infinite, the first at step {c.Steps[nonFinite[0]]}"
                : $"the grad norm jumps ≥ {Num.F(ExplodingRatio)}× its running median at {events.Count} steps (largest {Num.F(evidence["largest_jump_ratio"])}×, max {Num.G(evidence["max_grad_norm"])})");
    }

    /// <summary>The same jumps under gradient clipping: the updates were bounded, so it is information, with what to try if the loss still misbehaves.</summary>
    public static Finding Clipped(Finding f, double clip, DoctorOptions? options = null) => f with
    {
        Severity = Severity.Info,
        Evidence = new Dictionary<string, double>(f.Evidence) { ["clip"] = clip },
        Fixes =
        [
            "none needed while the loss is smooth: the updates are clipped",
            Remedy.ForSpikes(options) is { } r
                ? $"if the loss still spikes: re-run with {r.Flags} (the learning rate ÷3)"
                : "if the loss still spikes: a lower learning rate or a decaying schedule (--schedule cosine)",
        ],
        Summary = f.Summary + $" (before clipping: the updates were clipped to norm {Num.F(clip)})",
    };

    public static Finding? Vanishing(Curve c)
    {
        if (!c.HasGradNorms || c.Count < MinSteps) return null;
        var head = RobustStats.Median(c.GradNorm.AsSpan(0, c.Edge));
        var tail = RobustStats.Median(c.GradNorm.AsSpan(c.Count - c.Edge));
        if (!double.IsFinite(head) || !double.IsFinite(tail)) return null;
        var shrank = tail < VanishingRatio * head || tail < VanishingAbsolute;
        if (!shrank || !(c.Tail > VanishingUnconvergedLoss * c.Scale)) return null;
        var tailSteps = Enumerable.Range(c.Count - c.Edge, c.Edge).ToList();
        return new Finding(DoctorCodes.VanishingGradients, Severity.Warning, [c.Steps[c.Count - c.Edge], c.Steps[^1]], c.EpochsOf(tailSteps),
            new Dictionary<string, double>
            {
                ["head_grad_norm"] = head,
                ["tail_grad_norm"] = tail,
                ["ratio"] = tail / head,
                ["tail_loss"] = c.Tail,
                ["scale"] = c.Scale,
            },
            ["saturated activations (tanh/sigmoid) or dead ReLUs", "long sequences through a plain RNN: the gradient through time decays geometrically", "a learning rate decayed to nothing"],
            ["gated cells (LSTM/GRU) or residual connections", "a better initialisation (orthogonal recurrent weights)", "check the schedule's final learning rate"],
            $"the grad norm fell from {Num.G(head)} to {Num.G(tail)} while the loss is still {Num.F(c.Tail)}");
    }
}
