using static Loom.Diagnostics.DoctorThresholds;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// <c>overfitting</c>: the validation loss ends <see cref="OverfitRise"/> above its best, at least
/// <see cref="OverfitEpochsAfterBest"/> evaluations after it, while the training loss kept falling to below the best
/// validation loss. Names the best epoch.
/// </summary>
internal static class OverfitCheck
{
    public static Finding? Run(Curve c)
    {
        var val = c.Val.Where(r => double.IsFinite(r.Loss)).ToList();
        if (val.Count < OverfitMinEpochs) return null;
        var best = 0;
        for (var i = 1; i < val.Count; i++)
            if (val[i].Loss < val[best].Loss) best = i;
        var last = val[^1];
        if (val.Count - 1 - best < OverfitEpochsAfterBest || !(last.Loss > (1 + OverfitRise) * val[best].Loss)) return null;
        var trainAtBest = EpochTrainLoss(c, val[best].Epoch);
        var trainAtEnd = EpochTrainLoss(c, last.Epoch);
        // Without per-step training losses the rise alone is the evidence; with them, training must have kept falling,
        // and below the best validation loss: a model that fits nothing (a dead one drifting at chance) does not overfit.
        if (double.IsFinite(trainAtBest) && double.IsFinite(trainAtEnd) && !(trainAtEnd < trainAtBest && trainAtEnd < val[best].Loss)) return null;
        var evidence = new Dictionary<string, double>
        {
            ["best_epoch"] = val[best].Epoch,
            ["best_val_loss"] = val[best].Loss,
            ["last_val_loss"] = last.Loss,
            ["val_rise"] = last.Loss / val[best].Loss - 1,
            ["train_loss_at_best"] = trainAtBest,
            ["train_loss_at_end"] = trainAtEnd,
        };
        if (double.IsFinite(val[best].Accuracy)) evidence["best_val_accuracy"] = val[best].Accuracy;
        if (double.IsFinite(last.Accuracy)) evidence["last_val_accuracy"] = last.Accuracy;
        var epochs = val.Skip(best).Select(r => r.Epoch).ToList();
        return new Finding(DoctorCodes.Overfitting, Severity.Warning, [val[best].Step, last.Step], epochs, evidence,
            ["the model memorises the training set: too little data for its capacity", "no regularisation (weight decay, augmentation, dropout)", "training too long"],
            [$"keep the weights of epoch {val[best].Epoch} (early stopping)", "more data or augmentation (--augment standard)", "weight decay (--weight-decay 1e-4) or a smaller model"],
            $"validation loss rose from {Num.F(val[best].Loss)} at epoch {val[best].Epoch} (best) to {Num.F(last.Loss)} at epoch {last.Epoch} (+{Num.P(evidence["val_rise"])}) while training loss fell from {Num.F(trainAtBest)} to {Num.F(trainAtEnd)}");
    }

    private static double EpochTrainLoss(Curve c, int epoch)
    {
        var losses = Enumerable.Range(0, c.Count).Where(i => c.EpochOf[i] == epoch).Select(i => c.Loss[i]).ToArray();
        return losses.Length == 0 ? double.NaN : RobustStats.Median(losses);
    }
}
