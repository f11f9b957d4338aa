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
        if (Training && input.Numel / NumFeatures <= 1)
            throw new LoomException($"{TypeName}: expected more than 1 value per channel when training, got input {input.Shape}");
        var useBatch = Training || !TrackRunningStats;
        var track = Training && TrackRunningStats;
        var momentum = Momentum ?? 0.0;
        if (track)
        {
            // PyTorch counts the batch first; momentum None is then the cumulative average 1/count.
            var tracked = Get("num_batches_tracked").AsIntSpan();
            tracked[0]++;
            momentum = Momentum ?? 1.0 / tracked[0];
        }
        return Functional.BatchNorm(input, track || !useBatch ? Get("running_mean") : null, track || !useBatch ? Get("running_var") : null,
            Affine ? Get("weight") : null, Affine ? Get("bias") : null, training: useBatch, momentum, Eps);
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
