using System.Text.Json;
using System.Text.Json.Serialization;

namespace Loom.Diagnostics;

/// <summary>Options of <see cref="GradientFlow.Measure(Nn.IRecurrentCell, Nn.Module, Data.Sequences.SequenceBatch, GradientFlowOptions?)"/>.</summary>
public sealed record GradientFlowOptions
{
    /// <summary>Whether to compute the one-step Jacobians and their spectral norms (the costlier part).</summary>
    public bool Jacobians { get; init; } = true;

    /// <summary>How many sequences of the batch (the first ones) the Jacobians are measured on.</summary>
    public int JacobianSamples { get; init; } = 8;
}

/// <summary>
/// The result of a gradient-flow measurement. Index t − 1 of each array is step t = 1 … T.
/// <see cref="GradNorms"/>: ‖∂ℓ/∂h[t]‖ (Frobenius norm over the batch, ℓ = mean cross-entropy at the last step);
/// <see cref="FirstToLast"/>: ‖∂ℓ/∂h[1]‖ / ‖∂ℓ/∂h[T]‖; <see cref="JacobianNorms"/>: the spectral norm of ∂h[t]/∂h[t−1],
/// averaged over the measured sequences (<see cref="JacobianNormsMax"/>: their maximum); null when not measured.
/// </summary>
public sealed record GradientFlowReport(string Model, int Steps, int Batch, int Hidden, double Loss, double[] GradNorms,
    double FirstToLast, double[]? JacobianNorms, double[]? JacobianNormsMax)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// One JSON object: model, steps, batch, hidden, loss, grad_norms (T numbers), first_to_last, jacobian_norms,
    /// jacobian_norms_max — the contract of <c>loom gradflow --json</c>.
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["model"] = Model,
        ["steps"] = Steps,
        ["batch"] = Batch,
        ["hidden"] = Hidden,
        ["loss"] = Loss,
        ["grad_norms"] = GradNorms,
        ["first_to_last"] = FirstToLast,
        ["jacobian_norms"] = JacobianNorms,
        ["jacobian_norms_max"] = JacobianNormsMax,
    }, JsonOptions);
}
