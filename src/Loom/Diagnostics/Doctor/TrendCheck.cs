using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// The shape of the whole curve. <c>oscillating</c>: in the second half the loss spreads widely
/// (<see cref="OscillationSpread"/> × scale) but its last quarter is no lower than its first. <c>slow-convergence</c>:
/// the medians of <see cref="SlowSegments"/> segments decrease strictly, yet the whole run gained less than
/// <see cref="SlowMaxDrop"/> × scale.
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
        var progress = (early - late) / c.Scale;
        if (!(spread >= OscillationSpread * c.Scale) || progress >= OscillationMaxProgress) return null;
        var indices = Enumerable.Range(half, c.Count - half).ToList();
        return new Finding(DoctorCodes.Oscillating, Severity.Warning, [c.Steps[half], c.Steps[^1]], c.EpochsOf(indices),
            new Dictionary<string, double>
            {
                ["spread"] = spread,
                ["spread_over_scale"] = spread / c.Scale,
                ["median_loss"] = RobustStats.Median(second),
                ["progress_over_scale"] = progress,
                ["scale"] = c.Scale,
            },
            ["the learning rate is too high: each update overshoots the minimum along sharp directions", "a batch too small for the learning rate"],
            ["lower the learning rate (÷3 to ÷10)", "a decaying schedule (--schedule cosine)", "a larger batch"],
            $"in the second half the loss bounces with a spread of {Num.F(spread)} ({Num.P(spread / c.Scale)} of the scale {Num.F(c.Scale)}) around {Num.F(RobustStats.Median(second))} without going down");
    }

    public static Finding? Slow(Curve c)
    {
        if (c.Count < SlowSegments * MinSteps / 2) return null;
        var medians = new double[SlowSegments];
        for (var s = 0; s < SlowSegments; s++)
        {
            var lo = s * c.Count / SlowSegments;
            var hi = (s + 1) * c.Count / SlowSegments;
            medians[s] = RobustStats.Median(c.Loss.AsSpan(lo, hi - lo));
        }
        for (var s = 1; s < SlowSegments; s++)
            if (!(medians[s] < medians[s - 1])) return null;
        var drop = (medians[0] - medians[^1]) / c.Scale;
        if (drop is >= SlowMaxDrop or < SlowMinDrop) return null;
        var perSegment = (medians[0] - medians[^1]) / (SlowSegments - 1);
        var stepsPerSegment = (double)(c.Steps[^1] - c.Steps[0]) / (SlowSegments - 1);
        return new Finding(DoctorCodes.SlowConvergence, Severity.Info, [c.Steps[0], c.Steps[^1]], c.EpochsOf(Enumerable.Range(0, c.Count)),
            new Dictionary<string, double>
            {
                ["first_segment_loss"] = medians[0],
                ["last_segment_loss"] = medians[^1],
                ["drop_over_scale"] = drop,
                ["drop_per_1000_steps"] = stepsPerSegment > 0 ? perSegment / stepsPerSegment * 1000 : double.NaN,
                ["scale"] = c.Scale,
            },
            ["the learning rate is too low", "a schedule that decays too early", "poorly scaled inputs"],
            ["raise the learning rate (×10; a learning-rate range test finds the edge)", "normalise the inputs", "Adam instead of plain SGD"],
            $"the loss falls steadily but only from {Num.F(medians[0])} to {Num.F(medians[^1])} ({Num.P(drop)} of the scale {Num.F(c.Scale)}) over {c.Count} steps");
    }
}
