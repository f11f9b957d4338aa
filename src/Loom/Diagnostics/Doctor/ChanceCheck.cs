using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// The checks that need the number of classes C. A model that predicts the uniform distribution over C classes
/// scores a cross-entropy of exactly ln C and an accuracy of 1/C: that is where a fresh model starts and where a model
/// that learnt nothing stays (<c>plateau-at-chance</c>); a first loss far from ln C means the logits were badly
/// scaled at initialisation, or the labels or loss are wrong (<c>initial-loss-off</c>).
/// </summary>
internal static class ChanceCheck
{
    public static Finding? Plateau(Curve c)
    {
        if (c.Classes is not { } classes || c.Count < MinSteps) return null;
        var lnC = Math.Log(classes);
        var chanceAcc = 1.0 / classes;
        var acc = c.HasAccuracy ? RobustStats.RollingMean(c.Accuracy, c.Window) : null;
        bool AtChance(int i) => Math.Abs(c.Trend[i] - lnC) <= ChanceLossTolerance * lnC &&
                                (acc is null || !double.IsFinite(acc[i]) || Math.Abs(acc[i] - chanceAcc) <= ChanceAccuracyTolerance);
        int bestStart = -1, bestLength = 0;
        for (var i = 0; i < c.Count;)
        {
            if (!AtChance(i))
            {
                i++;
                continue;
            }
            var j = i;
            while (j < c.Count && AtChance(j)) j++;
            if (j - i > bestLength) (bestStart, bestLength) = (i, j - i);
            i = j;
        }
        if (bestLength < Math.Max(Math.Min(PlateauMinFraction * c.Count, PlateauMinSteps), 2 * c.Window)) return null;
        var span = c.Loss.AsSpan(bestStart, bestLength);
        var evidence = new Dictionary<string, double>
        {
            ["ln_c"] = lnC,
            ["chance_accuracy"] = chanceAcc,
            ["classes"] = classes,
            ["median_loss"] = RobustStats.Median(span),
            ["plateau_steps"] = bestLength,
            ["plateau_fraction"] = (double)bestLength / c.Count,
        };
        if (acc is not null) evidence["median_accuracy"] = RobustStats.Median(c.Accuracy.AsSpan(bestStart, bestLength));
        var end = bestStart + bestLength - 1;
        return new Finding(DoctorCodes.PlateauAtChance, Severity.Warning, [c.Steps[bestStart], c.Steps[end]], c.EpochsOf(Enumerable.Range(bestStart, bestLength)), evidence,
            [
                $"the model predicts the uniform distribution over {classes} classes: cross-entropy ln {classes} = {Num.F(lnC)}, accuracy 1/{classes} = {Num.P(chanceAcc)}",
                "the signal is hard to find (long-range dependencies in sequences: the gradient through time is weak)",
                "labels unrelated to the inputs (shuffled or wrong labels)",
                "a learning rate too low to leave the start, or too high (dead units)",
            ],
            ["train longer or with a warm-up; try a different learning rate (×3, ÷3)", "check that the labels match the inputs", "gated cells (LSTM/GRU) for long-range sequences"],
            $"loss ≈ ln {classes} = {Num.F(lnC)} (median {Num.F(evidence["median_loss"])})" +
            (acc is not null ? $" and accuracy ≈ 1/{classes} = {Num.P(chanceAcc)} (median {Num.P(evidence["median_accuracy"])})" : "") +
            $" for {bestLength} steps ({Num.P(evidence["plateau_fraction"])} of the run), steps {c.Steps[bestStart]}–{c.Steps[end]}");
    }

    public static Finding? InitialLoss(Curve c)
    {
        if (c.Classes is not { } classes || c.Count == 0 || !double.IsFinite(c.InitialLoss)) return null;
        var lnC = Math.Log(classes);
        var ratio = c.InitialLoss / lnC;
        if (ratio is <= InitialHigh and >= InitialLow) return null;
        var high = ratio > InitialHigh;
        var first = Enumerable.Range(0, Math.Min(c.Count, InitialSteps)).ToList();
        return new Finding(DoctorCodes.InitialLossOff, Severity.Warning, c.StepsOf(first), c.EpochsOf(first),
            new Dictionary<string, double> { ["initial_loss"] = c.InitialLoss, ["ln_c"] = lnC, ["ratio_to_ln_c"] = ratio, ["classes"] = classes },
            high
                ? ["logits badly scaled at initialisation (a last layer initialised too large: confident random predictions cost more than ln C)", "unnormalised inputs", "the wrong loss (e.g. summed instead of averaged)"]
                : ["a fresh model cannot beat chance: the labels leak into the inputs, or the number of classes is wrong", "the wrong loss"],
            high
                ? ["initialise the last layer smaller (or zero its bias and scale its weights down)", "normalise the inputs", "check the loss reduction (mean)"]
                : ["check the labels and the number of classes (--classes)", "check the loss"],
            $"the first loss {Num.F(c.InitialLoss)} is {Num.F(ratio)}× ln {classes} = {Num.F(lnC)}, the loss of a uniform guess");
    }
}
