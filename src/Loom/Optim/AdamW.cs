namespace Loom.Optim;

/// <summary>Hyper-parameters of <see cref="AdamW"/> (PyTorch's <c>torch.optim.AdamW</c> arguments and defaults:
/// like Adam's, but <see cref="OptimizerOptions.WeightDecay"/> defaults to 0.01).</summary>
public sealed record AdamWOptions : AdamFamilyOptions
{
    /// <summary>Options with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01).</summary>
    public AdamWOptions() => WeightDecay = 1e-2;
}

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter), PyTorch's <c>torch.optim.AdamW</c>: the parameter is
/// shrunk first, then Adam's step follows without an L2 term. At step t:
/// <code>
/// θ ← θ·(1 − γλ)
/// g ← ±g
/// m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   v̂ ← max(v̂, v) (AMSGrad)
/// θ ← θ − (γ / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// </code>
/// State: <c>step</c>, <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c> (AMSGrad only).
/// </summary>
/// <example>
/// <code>
/// var adamw = new AdamW(model.Parameters(), new AdamWOptions { Lr = 3e-4, WeightDecay = 0.05 });
/// </code>
/// </example>
public sealed class AdamW : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/> with <paramref name="options"/> (defaults when null).</summary>
    public AdamW(IEnumerable<Tensor> parameters, AdamWOptions? options = null)
        : this([new ParamGroup(parameters, options ?? new AdamWOptions())])
    {
    }

    /// <summary>Several groups, each with its own <see cref="AdamWOptions"/>.</summary>
    public AdamW(IEnumerable<ParamGroup> groups) : base("adamw", groups)
    {
    }

    private protected override Type OptionsType => typeof(AdamWOptions);

    private protected override IReadOnlyList<string> BufferNames => AdamRule.Buffers;

    private protected override void Update(OptimizerOptions options, Tensor param, Tensor grad, ParamState state)
    {
        var o = (AdamWOptions)options;
        AdamRule.Update(param, grad, state, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, decoupled: true, o.Amsgrad, o.Maximize);
    }
}
