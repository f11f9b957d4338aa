using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// The shape of the whole curve. <c>oscillating</c>: in the second half the loss spreads widely
/// (<see cref="OscillationSpread"/> × scale) but its last quarter is not lower than its first by half that spread. <c>slow-convergence</c>:
/// the validation losses (or the medians of <see cref="SlowSegments"/> training segments) decrease strictly, yet the
/// whole run lowered the loss by less than <see cref="SlowMaxDrop"/> of its first value.
/// </summary>
internal static class TrendCheck
{
    public static Finding? Oscillating(Curve c)
    {
        if (c.Count < 2 * MinSteps) return null;
        var half = c.Count / 2;
        var second = c.Loss.AsSpan(half);
        var spread = MadToSigma * RobustStats.Mad(second);
        var q = Math.Max(1, second.Length / 4);
        var early = RobustStats.Median(second[..q]);
        var late = RobustStats.Median(second[^q..]);
        var progress = early - late;
        if (!(spread >= OscillationSpread * c.Scale) || progress >= OscillationMaxProgress * spread) return null;
        var indices = Enumerable.Range(half, c.Count - half).ToList();
        return new Finding(DoctorCodes.Oscillating, Severity.Warning, [c.Steps[half], c.Steps[^1]], c.EpochsOf(indices),
            new Dictionary<string, double>
            {
                ["spread"] = spread,
                ["spread_over_scale"] = spread / c.Scale,
                ["median_loss"] = RobustStats.Median(second),
                ["progress"] = progress,
                ["scale"] = c.Scale,
            },
            ["the learning rate is too high: each update overshoots the minimum along sharp directions", "a batch too small for the learning rate"],
            ["lower the learning rate (÷3 to ÷10)", "a decaying schedule (--schedule cosine)", "a larger batch"],
            $"in the second half the loss bounces with a spread of {Num.F(spread)} ({Num.P(spread / c.Scale)} of the scale {Num.F(c.Scale)}) around {Num.F(RobustStats.Median(second))} without going down");
    }

    public static Finding? Slow(Curve c)
    {
        // The validation losses are averages over a whole test set: a slow trend shows there before the batch noise lets it.
        var val = c.Val.Where(r => double.IsFinite(r.Loss)).ToList();
        double[] levels;
        string basis;
        IReadOnlyList<long> steps;
        if (val.Count >= SlowMinEvaluations)
        {
            levels = [.. val.Select(r => r.Loss)];
            basis = $"{val.Count} evaluations";
            steps = [val[0].Step, val[^1].Step];
        }
        else
        {
            if (c.Count < SlowSegments * MinSteps / 2) return null;
            levels = new double[SlowSegments];
            for (var s = 0; s < SlowSegments; s++)
            {
                var lo = s * c.Count / SlowSegments;
                var hi = (s + 1) * c.Count / SlowSegments;
                levels[s] = RobustStats.Median(c.Loss.AsSpan(lo, hi - lo));
            }
            basis = $"{SlowSegments} segments of the training curve";
            steps = [c.Steps[0], c.Steps[^1]];
        }
        for (var s = 1; s < levels.Length; s++)
            if (!(levels[s] < levels[s - 1])) return null;
        var drop = (levels[0] - levels[^1]) / levels[0];
        if (drop is >= SlowMaxDrop or < SlowMinDrop) return null;
        return new Finding(DoctorCodes.SlowConvergence, Severity.Warning, steps, c.EpochsOf(Enumerable.Range(0, c.Count)),
            new Dictionary<string, double>
            {
                ["first_loss"] = levels[0],
                ["last_loss"] = levels[^1],
                ["relative_drop"] = drop,
                ["points"] = levels.Length,
                ["train_head_loss"] = c.Head,
                ["train_tail_loss"] = c.Tail,
            },
            ["the learning rate is too low", "a schedule that decays too early", "poorly scaled inputs"],
            ["raise the learning rate (×10; a learning-rate range test finds the edge)", "normalise the inputs", "Adam instead of plain SGD"],
            $"the loss falls at every one of {basis} but only from {Num.F(levels[0])} to {Num.F(levels[^1])} ({Num.P(drop)}) over {c.Count} steps");
    }
}
