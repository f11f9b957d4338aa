using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;

namespace Loom.Optim;

/// <summary>
/// Gradient clipping, as PyTorch's <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>: in place on
/// <see cref="Tensor.Grad"/>, skipping parameters without a gradient.
/// </summary>
/// <example>
/// <code>
/// loss.Backward();
/// var norm = GradClip.ClipGradNorm(model.Parameters(), maxNorm: 1.0);   // the norm before clipping
/// opt.Step();
/// </code>
/// </example>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so that their joint norm (the norm of all of them concatenated into one vector)
    /// is at most <paramref name="maxNorm"/>, and returns that norm as it was before clipping. As in PyTorch, the
    /// total norm is the p-norm of the per-tensor p-norms; <c>clip_coef = maxNorm / (total + 1e-6)</c> multiplies
    /// every gradient when it is below 1 (a NaN total makes it NaN, so the gradients become NaN, as in PyTorch).
    /// </summary>
    /// <param name="parameters">Tensors whose <see cref="Tensor.Grad"/> is clipped; those without one are skipped.</param>
    /// <param name="maxNorm">The largest norm allowed; ≥ 0.</param>
    /// <param name="normType">The p of the p-norm, &gt; 0, or <see cref="double.PositiveInfinity"/> for the largest |g|.</param>
    /// <param name="errorIfNonfinite">Throw a <see cref="LoomException"/> instead of scaling when the total norm is NaN or infinite.</param>
    /// <returns>The total norm before clipping (0 when no parameter has a gradient).</returns>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters as IReadOnlyList<Tensor> ?? [.. parameters];   // walked twice: norms, then scaling
        var check = new OptionCheck("clip_grad_norm");
        check.NonNegative(maxNorm, "max_norm");
        if (!(normType > 0)) check.Fail($"norm_type must be > 0 or infinity, got {normType}");

        var total = 0.0;
        var any = false;
        foreach (var p in list)
        {
            if (p.GradInternal is not { } g) continue;
            Tensor.RequireFloat(g, "clip_grad_norm");
            var n = g.DType == DType.Float32 ? Norm(g.Span<float>(), normType) : Norm(g.Span<double>(), normType);
            total = double.IsPositiveInfinity(normType) ? Math.Max(total, n) : total + Power(n, normType);
            any = true;
        }
        if (!any) return 0;
        if (!double.IsPositiveInfinity(normType)) total = Root(total, normType);

        if (errorIfNonfinite && !double.IsFinite(total))
        {
            var order = double.IsPositiveInfinity(normType) ? "inf" : normType.ToString(CultureInfo.InvariantCulture);
            throw new LoomException($"clip_grad_norm: the total norm of order {order} of the gradients is {total}, so they cannot be clipped " +
                "(a loss or gradient diverged; pass errorIfNonfinite: false to scale by it anyway)");
        }
        var coef = maxNorm / (total + 1e-6);
        if (coef >= 1) return total;   // PyTorch multiplies by min(coef, 1); ×1 changes nothing, so skip it
        foreach (var p in list)
        {
            if (p.GradInternal is not { } g) continue;
            if (g.DType == DType.Float32) TensorPrimitives.Multiply(g.Span<float>(), (float)coef, g.Span<float>());
            else TensorPrimitives.Multiply(g.Span<double>(), coef, g.Span<double>());
        }
        return total;
    }

    /// <summary>Clamps every gradient element into [−<paramref name="clipValue"/>, <paramref name="clipValue"/>]
    /// (NaN stays NaN), as PyTorch's <c>clip_grad_value_</c>.</summary>
    /// <param name="parameters">Tensors whose <see cref="Tensor.Grad"/> is clamped; those without one are skipped.</param>
    /// <param name="clipValue">The largest |g| allowed; ≥ 0.</param>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        new OptionCheck("clip_grad_value").NonNegative(clipValue, "clip_value");
        foreach (var p in parameters)
        {
            if (p.GradInternal is not { } g) continue;
            Tensor.RequireFloat(g, "clip_grad_value");
            if (g.DType == DType.Float32) Clamp(g.Span<float>(), (float)clipValue);
            else Clamp(g.Span<double>(), clipValue);
        }
    }

    private static void Clamp<T>(Span<T> g, T limit) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < g.Length; i++)
        {
            var x = g[i];
            if (x > limit) g[i] = limit;
            else if (x < -limit) g[i] = -limit;
        }
    }

    /// <summary>The p-norm of one gradient, accumulated in double: (Σ|g|ᵖ)^(1/p), √(Σg²) for p = 2, max|g| for p = ∞.</summary>
    private static double Norm<T>(ReadOnlySpan<T> g, double p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (double.IsPositiveInfinity(p))
        {
            var max = 0.0;
            foreach (var x in g) max = Math.Max(max, Math.Abs(double.CreateTruncating(x)));   // Math.Max keeps NaN
            return max;
        }
        var sum = 0.0;
        if (p == 2)
        {
            foreach (var x in g)
            {
                var d = double.CreateTruncating(x);
                sum += d * d;
            }
        }
        else if (p == 1)
        {
            foreach (var x in g) sum += Math.Abs(double.CreateTruncating(x));
        }
        else
        {
            foreach (var x in g) sum += Math.Pow(Math.Abs(double.CreateTruncating(x)), p);
        }
        return Root(sum, p);
    }

    private static double Power(double x, double p) => p switch
    {
        1 => x,
        2 => x * x,
        _ => Math.Pow(x, p),
    };

    private static double Root(double sum, double p) => p switch
    {
        1 => sum,
        2 => Math.Sqrt(sum),
        _ => Math.Pow(sum, 1 / p),
    };
}
