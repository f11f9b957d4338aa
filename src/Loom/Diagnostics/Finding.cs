namespace Loom.Diagnostics;

/// <summary>How much a finding matters: <see cref="Info"/> (healthy, or worth knowing), <see cref="Warning"/> (training
/// works badly), <see cref="Error"/> (training is broken: the run diverged).</summary>
public enum Severity
{
    Info,
    Warning,
    Error,
}

/// <summary>
/// One diagnosis of <see cref="LossCurveDoctor"/>: a stable <see cref="Code"/> (see <see cref="DoctorCodes"/>), the
/// training steps and epochs it concerns, the numbers it rests on (<see cref="Evidence"/>, never empty), the likely
/// causes and the fixes to try, and a one-line summary with the key numbers.
/// </summary>
public sealed record Finding(
    string Code,
    Severity Severity,
    IReadOnlyList<long> Steps,
    IReadOnlyList<int> Epochs,
    IReadOnlyDictionary<string, double> Evidence,
    IReadOnlyList<string> Causes,
    IReadOnlyList<string> Fixes,
    string Summary);

/// <summary>The stable codes of <see cref="Finding.Code"/>: scripts and the corpus test match on these strings.</summary>
public static class DoctorCodes
{
    /// <summary>The loss became NaN/inf, or grew far above its start and stayed there.</summary>
    public const string Diverged = "diverged";

    /// <summary>Sudden jumps far above the running trend that come back down.</summary>
    public const string LossSpikes = "loss-spikes";

    /// <summary>Gradient norms jump by orders of magnitude above their running level (or become non-finite).</summary>
    public const string ExplodingGradients = "exploding-gradients";

    /// <summary>Gradient norms shrink towards zero while the loss has not converged.</summary>
    public const string VanishingGradients = "vanishing-gradients";

    /// <summary>Loss ≈ ln C and accuracy ≈ 1/C for a long stretch: the model predicts the uniform distribution.</summary>
    public const string PlateauAtChance = "plateau-at-chance";

    /// <summary>The first loss is far from ln C.</summary>
    public const string InitialLossOff = "initial-loss-off";

    /// <summary>Validation loss rises while training loss falls.</summary>
    public const string Overfitting = "overfitting";

    /// <summary>Large bounces of the loss without progress.</summary>
    public const string Oscillating = "oscillating";

    /// <summary>A steady but tiny decrease.</summary>
    public const string SlowConvergence = "slow-convergence";

    /// <summary>Nothing is wrong.</summary>
    public const string Healthy = "healthy";

    /// <summary>Every code, in the order reports list them.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Diverged, LossSpikes, ExplodingGradients, VanishingGradients, PlateauAtChance, InitialLossOff, Overfitting, Oscillating, SlowConvergence, Healthy];
}
