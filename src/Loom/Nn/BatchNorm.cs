namespace Loom.Nn;

/// <summary>
/// Batch normalisation over the channel axis 1: y = (x − μ)/√(σ² + ε)·γ + β. In training μ, σ² are the batch's
/// (biased σ² normalises; the unbiased one updates running_var) and running stats move by
/// running ← (1 − momentum)·running + momentum·batch; in eval the running stats are used.
/// Keys: weight, bias, running_mean, running_var, num_batches_tracked (as PyTorch).
/// </summary>
public abstract class BatchNormBase : Module
{
    protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures <= 0) throw new LoomException($"{TypeName}: num_features must be positive, found {numFeatures}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            RegisterParameter("weight", Tensor.Ones(numFeatures));
            RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            RegisterBuffer("num_batches_tracked", Tensor.Zeros(new Shape(), DType.Int32));
        }
    }

    public int NumFeatures { get; }

    public double Eps { get; }

    /// <summary>Running-average factor; null means a cumulative average (PyTorch's momentum=None).</summary>
    public double? Momentum { get; }

    public bool Affine { get; }

    public bool TrackRunningStats { get; }

    /// <summary>Expected input rank(s), for the error message.</summary>
    protected abstract bool AcceptsRank(int rank);

    protected abstract string ExpectedInput { get; }

    public override Tensor Forward(Tensor input)
    {
        if (!AcceptsRank(input.Rank) || input.Shape[1] != NumFeatures)
            throw new LoomException($"{TypeName}: expected input {ExpectedInput} with C = {NumFeatures}, found {input.Shape}");
        var axes = Enumerable.Range(0, input.Rank).Where(a => a != 1).ToArray();
        var viewDims = Enumerable.Repeat(1, input.Rank).ToArray();
        viewDims[1] = NumFeatures;
        var view = new Shape(viewDims);
        Tensor mean, var;
        var useBatch = Training || !TrackRunningStats;
        if (useBatch)
        {
            var count = input.Numel / NumFeatures;
            if (Training && count <= 1)
                throw new LoomException($"{TypeName}: expected more than 1 value per channel when training, got input {input.Shape}");
            mean = Functional.Mean(input, axes, keepDim: true);
            var centered = input - mean;
            var = Functional.Mean(centered * centered, axes, keepDim: true);
            if (Training && TrackRunningStats) UpdateRunningStats(mean, var, count);
            var normalized = centered / Functional.Sqrt(var + Eps);
            return ApplyAffine(normalized, view);
        }
        mean = Functional.Reshape(Get("running_mean"), view);
        var = Functional.Reshape(Get("running_var"), view);
        return ApplyAffine((input - mean) / Functional.Sqrt(var + Eps), view);
    }

    private Tensor ApplyAffine(Tensor normalized, Shape view) =>
        Affine ? normalized * Functional.Reshape(Get("weight"), view) + Functional.Reshape(Get("bias"), view) : normalized;

    private void UpdateRunningStats(Tensor mean, Tensor biasedVar, int count)
    {
        using var _ = Autograd.NoGrad();
        var tracked = Get("num_batches_tracked");
        tracked.AsIntSpan()[0]++;
        var factor = Momentum ?? 1.0 / tracked.AsIntSpan()[0];
        var rm = Get("running_mean");
        var rv = Get("running_var");
        var m = mean.Detach();
        var unbiased = biasedVar.Detach() * ((double)count / (count - 1));
        rm.CopyFrom(Functional.Reshape(rm * (1 - factor) + Functional.Reshape(m, rm.Shape) * factor, rm.Shape));
        rv.CopyFrom(Functional.Reshape(rv * (1 - factor) + Functional.Reshape(unbiased, rv.Shape) * factor, rv.Shape));
    }

    public override string ExtraRepr() =>
        $"{NumFeatures}, eps={Eps}, momentum={(Momentum is { } m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={(Affine ? "True" : "False")}, track_running_stats={(TrackRunningStats ? "True" : "False")}";
}

/// <summary>Batch norm over (N, C) or (N, C, L). Shape: same in and out.</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override bool AcceptsRank(int rank) => rank is 2 or 3;

    protected override string ExpectedInput => "(N, C) or (N, C, L)";
}

/// <summary>Batch norm over (N, C, H, W). Shape: same in and out.</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override bool AcceptsRank(int rank) => rank == 4;

    protected override string ExpectedInput => "(N, C, H, W)";
}
