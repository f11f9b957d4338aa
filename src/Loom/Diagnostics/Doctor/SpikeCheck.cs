using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// <c>loss-spikes</c>: steps whose loss is above the rolling median by more than <see cref="SpikeSigmas"/> robust
/// sigmas and <see cref="SpikeMinHeight"/> × scale, that come back down later (at least <see cref="MinSpikes"/> of
/// them, or one above the initial loss). With grad norms logged, each
/// spike's grad norm is compared with the rolling median grad norm; when they jump too the spikes are tied to
/// <c>exploding-gradients</c> (returned as a second finding).
/// </summary>
internal static class SpikeCheck
{
    public static IEnumerable<Finding> Run(Curve c, DoctorOptions? options = null)
    {
        if (c.Count < MinSteps) yield break;
        var events = new List<(int Start, int End, int Peak)>();
        for (var i = 0; i < c.Count; i++)
        {
            if (!IsSpike(c, i)) continue;
            if (events.Count > 0 && i - events[^1].End <= SpikeMergeGap)
            {
                var e = events[^1];
                events[^1] = (e.Start, i, c.Loss[i] > c.Loss[e.Peak] ? i : e.Peak);
            }
            else events.Add((i, i, i));
        }
        var recovered = events.Where(e => Recovered(c, e.Start, e.End)).ToList();
        if (recovered.Count < MinSpikes && !recovered.Any(e => c.Loss[e.Peak] > c.InitialLoss)) yield break;

        var peaks = recovered.Select(e => e.Peak).ToList();
        var heights = peaks.Select(p => c.Loss[p] - c.Trend[p]).ToList();
        var aboveInitial = peaks.Count(p => c.Loss[p] > c.InitialLoss);
        var evidence = new Dictionary<string, double>
        {
            ["spikes"] = recovered.Count,
            ["largest_spike_loss"] = peaks.Max(p => c.Loss[p]),
            ["median_spike_height"] = RobustStats.Median([.. heights]),
            ["median_trend_at_spikes"] = RobustStats.Median([.. peaks.Select(p => c.Trend[p])]),
            ["spikes_above_initial_loss"] = aboveInitial,
            ["initial_loss"] = c.InitialLoss,
            ["window_steps"] = c.Window,
        };
        var tied = false;
        List<double> gradRatios = [];
        double[]? gradTrend = null;
        if (c.HasGradNorms)
        {
            gradTrend = c.GradTrend;
            foreach (var e in recovered)
            {
                // The gradient that caused a spike was taken a few steps before its peak; the one of the spike at the spike.
                var g = double.NaN;
                for (var i = Math.Max(0, e.Start - SpikeGradLookBack); i <= e.End; i++)
                    if (double.IsFinite(c.GradNorm[i]) && !(c.GradNorm[i] <= g)) g = c.GradNorm[i];
                if (double.IsFinite(g) && gradTrend[e.Peak] > 0) gradRatios.Add(g / gradTrend[e.Peak]);
            }
            if (gradRatios.Count > 0)
            {
                var ratio = RobustStats.Median([.. gradRatios]);
                evidence["grad_norm_ratio_at_spikes"] = ratio;
                evidence["median_grad_norm"] = RobustStats.Median(c.GradNorm);
                tied = ratio >= SpikeGradRatio;
            }
        }
        var steps = c.StepsOf(peaks);
        var why = aboveInitial > 0
            ? $"; {aboveInitial} {(aboveInitial == 1 ? "rises" : "rise")} above the initial loss {Num.F(c.InitialLoss)}: cross-entropy is unbounded, a confidently wrong model scores worse than the uniform guess it started from"
            : "";
        var causes = new List<string>
        {
            tied ? $"exploding gradients: the grad norm jumps {Num.F(evidence["grad_norm_ratio_at_spikes"])}× its running median at the spikes"
                 : "a learning rate too high for sharp regions of the loss surface",
            "rare hard or mislabelled batches (when the spikes are small and isolated)",
        };
        var fixes = Remedy.SpikeFixes(options, evidence);
        yield return new Finding(DoctorCodes.LossSpikes, Severity.Warning, steps, c.EpochsOf(peaks), evidence, causes, fixes,
            $"{recovered.Count} loss spike{(recovered.Count == 1 ? "" : "s")} that recover{(recovered.Count == 1 ? "s" : "")}, largest {Num.F(evidence["largest_spike_loss"])} over a trend of {Num.F(evidence["median_trend_at_spikes"])}" + why +
            (tied ? $"; grad norm {Num.F(evidence["grad_norm_ratio_at_spikes"])}× its median at the spikes" : ""));
        if (tied)
        {
            var maxGrad = c.GradNorm.Where(double.IsFinite).Max();
            yield return new Finding(DoctorCodes.ExplodingGradients, Severity.Warning, steps, c.EpochsOf(peaks),
                new Dictionary<string, double>
                {
                    ["grad_norm_ratio_at_spikes"] = evidence["grad_norm_ratio_at_spikes"],
                    ["max_grad_norm"] = maxGrad,
                    ["median_grad_norm"] = evidence["median_grad_norm"],
                    ["spikes"] = recovered.Count,
                },
                ["recurrent weights with a spectral radius above 1: the gradient through time grows geometrically", "no gradient clipping"],
                ["clip the gradient norm (--clip 1)", "lower the learning rate", "gated cells (LSTM/GRU) for a plain RNN"],
                $"the grad norm jumps {Num.F(evidence["grad_norm_ratio_at_spikes"])}× its running median at the {recovered.Count} loss spike{(recovered.Count == 1 ? "" : "s")} (max {Num.G(maxGrad)})");
        }
    }

    private static bool IsSpike(Curve c, int i)
    {
        var height = c.Loss[i] - c.Trend[i];
        return double.IsFinite(height) && height > SpikeSigmas * c.Spread[i] && height > SpikeMinHeight * c.Scale;
    }

    /// <summary>
    /// Recovered: later on, the trend comes back to within <see cref="SpikeRecovery"/> × scale of its level before the
    /// spike, or at least halfway down from the peak (a spike can knock a model back; it then relearns over epochs).
    /// </summary>
    private static bool Recovered(Curve c, int start, int end)
    {
        var before = c.Trend[Math.Max(0, start - 1)];
        var peak = c.Loss[start..(end + 1)].Max();
        var target = Math.Max(before + SpikeRecovery * c.Scale, before + 0.5 * (peak - before));
        for (var j = end + 1; j < c.Count; j++)
            if (c.Loss[j] <= target && c.Trend[j] <= target) return true;
        return false;
    }
}
