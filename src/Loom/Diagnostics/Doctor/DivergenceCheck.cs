using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// <c>diverged</c>: the loss (training or validation) became NaN or infinite, or the curve ends far above both its
/// start and its best level (<see cref="DivergedGrowth"/>, <see cref="DivergedOverBest"/>) — it grew and did not recover.
/// </summary>
internal static class DivergenceCheck
{
    public static Finding? Run(Curve c)
    {
        // An infinite grad norm is a divergence too (an empty grad_norm reads as NaN: not measured, not diverged).
        var firstBad = Enumerable.Range(0, c.Count).FirstOrDefault(i => !double.IsFinite(c.Loss[i]) || double.IsInfinity(c.GradNorm[i]), -1);
        var badVal = c.Val.FirstOrDefault(r => !double.IsFinite(r.Loss));
        if (firstBad >= 0 || badVal is not null)
        {
            var lastGood = firstBad > 0 ? c.Loss[firstBad - 1] : double.NaN;
            var step = firstBad >= 0 ? c.Steps[firstBad] : badVal!.Step;
            var epoch = firstBad >= 0 ? c.EpochOf[firstBad] : badVal!.Epoch;
            var nonFinite = c.Loss.Count(v => !double.IsFinite(v)) + c.GradNorm.Count(double.IsInfinity);
            var evidence = new Dictionary<string, double>
            {
                ["first_non_finite_step"] = step,
                ["non_finite_values"] = nonFinite,
                ["last_finite_loss"] = lastGood,
                ["initial_loss"] = c.InitialLoss,
            };
            var gradBefore = firstBad > 0 ? c.GradNorm[firstBad - 1] : double.NaN;
            if (double.IsFinite(gradBefore)) evidence["grad_norm_before"] = gradBefore;
            var what = firstBad < 0 ? $"the validation loss became {Num.F(badVal!.Loss)}"
                : double.IsFinite(c.Loss[firstBad]) ? $"the grad norm became {Num.F(c.GradNorm[firstBad])}"
                : $"the training loss became {Num.F(c.Loss[firstBad])}";
            return new Finding(DoctorCodes.Diverged, Severity.Error, [step], [epoch], evidence,
                [
                    "the learning rate is too high: an update overshoots, the logits blow up and the loss overflows",
                    "exploding gradients (recurrent networks without clipping)",
                    "NaN or infinite values in the input data or labels out of range",
                ],
                ["check the data for NaN/inf (a single bad sample poisons the weights)", "lower the learning rate (÷10)", "clip the gradient norm (--clip 1)"],
                $"{what} at step {step} (epoch {epoch}); last finite loss {Num.F(lastGood)}");
        }
        if (c.Count < MinSteps) return null;
        var best = c.Trend.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min();
        if (c.Tail > DivergedGrowth * c.Head && c.Tail > DivergedOverBest * best)
        {
            // The step where the trend last left the neighbourhood of its best level.
            var start = Array.FindLastIndex(c.Trend, v => v <= DivergedOverBest * best) + 1;
            start = Math.Clamp(start, 0, c.Count - 1);
            return new Finding(DoctorCodes.Diverged, Severity.Error, [c.Steps[start]], [c.EpochOf[start]],
                new Dictionary<string, double>
                {
                    ["head_loss"] = c.Head,
                    ["best_trend_loss"] = best,
                    ["tail_loss"] = c.Tail,
                    ["growth_over_head"] = c.Tail / c.Head,
                    ["growth_over_best"] = c.Tail / best,
                },
                ["the learning rate is too high for this model (it went down, then an update threw it out of the basin)", "exploding gradients"],
                ["lower the learning rate (÷10) or warm it up", "clip the gradient norm (--clip 1)", "use a decaying schedule (--schedule cosine)"],
                $"the loss grew from {Num.F(c.Head)} (best {Num.F(best)}) to {Num.F(c.Tail)} from step {c.Steps[start]} on and did not recover");
        }
        return null;
    }
}
