namespace Loom.Optim;

/// <summary>Hyper-parameters of <see cref="Adam"/> (PyTorch's <c>torch.optim.Adam</c> arguments and defaults).</summary>
public sealed record AdamOptions : AdamFamilyOptions;

/// <summary>
/// Adam with PyTorch's update rule (<c>torch.optim.Adam</c>, bias correction as in torch 1.13/2.x). Weight decay is
/// an L2 term added to the gradient (for the decoupled kind use <see cref="AdamW"/>). At step t:
/// <code>
/// g ← ±g + λθ
/// m ← β1·m + (1 − β1)·g
/// v ← β2·v + (1 − β2)·g²
/// v̂ ← max(v̂, v)              (AMSGrad; v̂ replaces v below)
/// θ ← θ − (γ / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// </code>
/// State: <c>step</c>, <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v), <c>max_exp_avg_sq</c> (v̂, AMSGrad only).
/// </summary>
/// <example>
/// <code>
/// var adam = new Adam(model.Parameters(), new AdamOptions { Lr = 1e-3 });
/// </code>
/// </example>
public sealed class Adam : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/> with <paramref name="options"/> (defaults when null).</summary>
    public Adam(IEnumerable<Tensor> parameters, AdamOptions? options = null)
        : this([new ParamGroup(parameters, options ?? new AdamOptions())])
    {
    }

    /// <summary>Several groups, each with its own <see cref="AdamOptions"/>.</summary>
    public Adam(IEnumerable<ParamGroup> groups) : base("adam", groups)
    {
    }

    private protected override Type OptionsType => typeof(AdamOptions);

    private protected override IReadOnlyList<string> BufferNames => AdamRule.Buffers;

    private protected override void Update(OptimizerOptions options, Tensor param, Tensor grad, ParamState state)
    {
        var o = (AdamOptions)options;
        AdamRule.Update(param, grad, state, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, decoupled: false, o.Amsgrad, o.Maximize);
    }
}
