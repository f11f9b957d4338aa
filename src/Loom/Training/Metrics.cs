namespace Loom.Training;

/// <summary>Classification metrics on logits [..., C] and int32 targets [...] (targets −100 are ignored).</summary>
public static class Metrics
{
    public const int IgnoreIndex = -100;

    /// <summary>Mean cross-entropy over non-ignored positions; logits are flattened to [M, C].</summary>
    public static Tensor Loss(Tensor logits, Tensor targets, double labelSmoothing = 0)
    {
        var c = logits.Shape[-1];
        var flatLogits = logits.Rank == 2 ? logits : Functional.Reshape(logits, -1, c);
        var flatTargets = targets.Rank == 1 ? targets : Functional.Reshape(targets, -1);
        return Functional.CrossEntropy(flatLogits, flatTargets, ignoreIndex: IgnoreIndex, labelSmoothing: labelSmoothing);
    }

    /// <summary>(correct, counted) over non-ignored positions: the argmax of the logits equals the target.</summary>
    public static (int Correct, int Counted) Correct(Tensor logits, Tensor targets)
    {
        var c = logits.Shape[-1];
        var t = targets.AsIntSpan();
        if (logits.Numel != t.Length * c)
            throw new LoomException($"accuracy: logits {logits.Shape} do not match targets {targets.Shape} (expected [..., C] with the targets' {t.Length} positions)");
        var values = logits.DType == DType.Float32 ? logits.AsSpan() : default;
        int correct = 0, counted = 0;
        for (var i = 0; i < t.Length; i++)
        {
            if (t[i] == IgnoreIndex) continue;
            counted++;
            var best = 0;
            if (logits.DType == DType.Float32)
            {
                var row = values.Slice(i * c, c);
                for (var k = 1; k < c; k++) if (row[k] > row[best]) best = k;
            }
            else
            {
                for (var k = 1; k < c; k++) if (logits.GetFlat(i * c + k) > logits.GetFlat(i * c + best)) best = k;
            }
            if (best == t[i]) correct++;
        }
        return (correct, counted);
    }

    /// <summary>Evaluates a model on the test batches in eval mode without recording gradients.</summary>
    public static (double Loss, double Accuracy) Evaluate(Nn.Module model, ITrainingData data)
    {
        var wasTraining = model.Training;
        model.Eval();
        var stateful = model as Nn.IStatefulModel;
        stateful?.ResetState();
        try
        {
            using var _ = Autograd.NoGrad();
            double lossSum = 0;
            long correct = 0, counted = 0;
            foreach (var batch in data.TestBatches())
            {
                using var scope = stateful is null ? MemoryScope.Begin() : null; // recycles each batch's activations
                var logits = model.Forward(batch.Inputs);
                var (c, n) = Correct(logits, batch.Targets);
                lossSum += Loss(logits, batch.Targets).Item() * n;
                correct += c;
                counted += n;
            }
            return counted == 0 ? (double.NaN, double.NaN) : (lossSum / counted, (double)correct / counted);
        }
        finally
        {
            stateful?.ResetState();
            model.Train(wasTraining);
        }
    }
}
