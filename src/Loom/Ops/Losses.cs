using System.Runtime.CompilerServices;
namespace Loom;

/// <summary>How a loss combines per-element values (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    Mean,
    Sum,
    None,
}

/// <summary>
/// Losses: cross-entropy from logits (class weights, label smoothing, ignore_index, soft targets), negative
/// log-likelihood, mean squared error, binary cross-entropy with logits. PyTorch's semantics and defaults.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// Cross-entropy of logits [N, C] (or [N, C, d…]) against int32 class indices [N] (or [N, d…]), or against class
    /// probabilities shaped like the logits. ℓ = −log softmax(x)[target]; with label smoothing ε the target is
    /// (1 − ε)·onehot + ε/C. A classifier that knows nothing predicts uniformly and scores ln C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Tensor? weight = null, int ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        if (logits.Rank < 1) throw new LoomException($"cross_entropy: logits must have a class axis, found {logits.Shape}");
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new LoomException($"cross_entropy: label_smoothing must be in [0, 1], found {labelSmoothing}");
        var classAxis = logits.Rank == 1 ? 0 : 1;
        var c = logits.Shape.Dims[classAxis];
        var logp = LogSoftmax(logits, classAxis);

        if (target.DType != DType.Int32)
        {
            // Class probabilities: ℓ = −Σ_c w_c · p_c · log q_c, mean over the batch elements.
            if (target.Shape != logits.Shape)
                throw new LoomException($"cross_entropy: probability targets must have the logits' shape {logits.Shape}, found {target.Shape}");
            var p = labelSmoothing > 0 ? Add(Mul(target, 1 - labelSmoothing), labelSmoothing / c) : target;
            var weighted = Mul(logp, p);
            if (weight is not null) weighted = Mul(weighted, ClassWeightView(weight, logits, classAxis));
            var perElement = Neg(Sum(weighted, [classAxis]));
            return Reduce(perElement, reduction, perElement.Numel);
        }

        var nll = Nll(logp, target, weight, ignoreIndex, reduction);
        if (labelSmoothing == 0) return nll;

        var smooth = weight is null ? logp : Mul(logp, ClassWeightView(weight, logits, classAxis));
        var smoothLoss = Neg(Sum(smooth, [classAxis]));
        var keep = NotIgnoredMask(target, ignoreIndex, logits.DType);
        smoothLoss = Mul(smoothLoss, keep);
        Tensor reduced = reduction switch
        {
            Reduction.Sum => Sum(smoothLoss),
            Reduction.None => smoothLoss,
            _ => Div(Sum(smoothLoss), Math.Max(double.Epsilon, weight is null ? Sum(keep).Item() : TargetWeightSum(target, weight, ignoreIndex))),
        };
        return Add(Mul(nll, 1 - labelSmoothing), Mul(reduced, labelSmoothing / c));
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities [N, C, d…] against int32 targets [N, d…]:
    /// ℓᵢ = −w[tᵢ]·logp[i, tᵢ]; mean divides by Σ w[tᵢ] over non-ignored elements (as PyTorch).
    /// ∂/∂logp[i, tᵢ] = −w[tᵢ]·g (÷ Σ w for mean), 0 elsewhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Nll(Tensor logp, Tensor target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        Tensor.RequireFloat(logp, "nll_loss");
        if (target.DType != DType.Int32)
            throw new LoomException($"nll_loss: targets must be int32 class indices, found {target.DType.TorchName()}");
        var classAxis = logp.Rank == 1 ? 0 : 1;
        var c = logp.Shape.Dims[classAxis];
        var expected = logp.Rank == 1 ? new Shape() : new Shape([.. logp.Shape.Dims[..1], .. logp.Shape.Dims[2..]]);
        if (target.Shape != expected)
            throw new LoomException($"nll_loss: targets of shape {target.Shape} do not match input {logp.Shape} (expected {expected})");
        if (weight is not null && (weight.Rank != 1 || weight.Shape[0] != c))
            throw new LoomException($"nll_loss: class weights must be [{c}], found {weight.Shape}");

        var inner = logp.Rank <= 2 ? 1 : logp.Shape.Product(2, logp.Rank);
        var t = target.Span<int>();
        var w = weight?.ToDoubleArray();
        var perElement = Tensor.Empty(target.Shape, logp.DType);
        var coeff = new double[t.Length]; // −w[t] at each element (0 if ignored)
        var weightSum = 0.0;
        for (var i = 0; i < t.Length; i++)
        {
            var cls = t[i];
            if (cls == ignoreIndex) { coeff[i] = 0; continue; }
            if (cls < 0 || cls >= c)
                throw new LoomException($"nll_loss: target {cls} at position {i} is out of range for {c} classes");
            var wi = w?[cls] ?? 1.0;
            coeff[i] = -wi;
            weightSum += wi;
        }
        var positions = new int[t.Length];
        for (var i = 0; i < t.Length; i++)
        {
            var sample = i / inner;
            var rest = i % inner;
            var cls = coeff[i] == 0 && t[i] == ignoreIndex ? 0 : t[i];
            positions[i] = (sample * c + cls) * inner + rest;
            perElement.SetFlat(i, coeff[i] * logp.GetFlat(positions[i]));
        }

        var scale = reduction == Reduction.Mean ? 1.0 / weightSum : 1.0;
        Tensor y;
        if (reduction == Reduction.None) y = perElement;
        else
        {
            var total = 0.0;
            for (var i = 0; i < t.Length; i++) total += perElement.GetFlat(i);
            y = Tensor.Scalar(total * scale, logp.DType);
        }
        return Autograd.Record(y, "nll_loss", logp, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) =>
        {
            var gx = Tensor.EmptyZeroed(logp.Shape, g.DType);
            for (var i = 0; i < positions.Length; i++)
            {
                var gi = reduction == Reduction.None ? g.GetFlat(i) : g.GetFlat(0) * scale;
                gx.SetFlat(positions[i], gx.GetFlat(positions[i]) + coeff[i] * gi);
            }
            return gx;
        });
    }

    /// <summary>Mean squared error (a − b)², reduced.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        if (input.Shape != target.Shape)
            throw new LoomException($"mse_loss: input {input.Shape} and target {target.Shape} must have the same shape");
        var d = Sub(input, target);
        return Reduce(Mul(d, d), reduction, input.Numel);
    }

    /// <summary>
    /// Binary cross-entropy on logits, stably: ℓ = (1 − y)·x + (1 + (pw − 1)·y)·log(1 + e⁻ˣ) computed as
    /// max(−x, 0) + log(e^{−max(−x,0)} + e^{−x−max(−x,0)}).  ∂/∂x = (1 + (pw − 1)y)·σ(x) − pw·y.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        Tensor.RequireFloat(logits, "binary_cross_entropy_with_logits");
        if (logits.Shape != target.Shape)
            throw new LoomException($"binary_cross_entropy_with_logits: logits {logits.Shape} and target {target.Shape} must have the same shape");
        Tensor.RequireSameDType(logits, target, "binary_cross_entropy_with_logits");
        var pw = posWeight is null ? Tensor.Scalar(1, logits.DType) : Expand(posWeight.Detach(), logits.Shape);
        var pwExpanded = Expand(pw, logits.Shape);
        var loss = logits.EmptyLike();
        for (var i = 0; i < logits.Numel; i++)
        {
            var x = logits.GetFlat(i);
            var y = target.GetFlat(i);
            var p = pwExpanded.GetFlat(i);
            var logSig = Math.Max(-x, 0) + Math.Log(Math.Exp(-Math.Max(-x, 0)) + Math.Exp(-x - Math.Max(-x, 0))); // log(1 + e^{−x})
            loss.SetFlat(i, (1 - y) * x + (1 + (p - 1) * y) * logSig);
        }
        loss = Autograd.Record(loss, "bce_with_logits", [logits, target], g =>
        {
            Tensor? gx = null, gy = null;
            if (logits.RequiresGrad)
            {
                gx = logits.EmptyLike();
                for (var i = 0; i < logits.Numel; i++)
                {
                    var x = logits.GetFlat(i);
                    var y = target.GetFlat(i);
                    var p = pwExpanded.GetFlat(i);
                    var sig = 1 / (1 + Math.Exp(-x));
                    gx.SetFlat(i, g.GetFlat(i) * ((1 + (p - 1) * y) * sig - p * y));
                }
            }
            if (target.RequiresGrad)
            {
                // ∂ℓ/∂y = −x + (pw − 1)·log(1 + e⁻ˣ)
                gy = target.EmptyLike();
                for (var i = 0; i < logits.Numel; i++)
                {
                    var x = logits.GetFlat(i);
                    var p = pwExpanded.GetFlat(i);
                    var logSig = Math.Max(-x, 0) + Math.Log(Math.Exp(-Math.Max(-x, 0)) + Math.Exp(-x - Math.Max(-x, 0)));
                    gy.SetFlat(i, g.GetFlat(i) * (-x + (p - 1) * logSig));
                }
            }
            return [gx, gy];
        });
        return Reduce(loss, reduction, logits.Numel);
    }

    private static Tensor Reduce(Tensor perElement, Reduction reduction, int count) => reduction switch
    {
        Reduction.Sum => Sum(perElement),
        Reduction.None => perElement,
        _ => Div(Sum(perElement), Math.Max(1, count)),
    };

    private static Tensor ClassWeightView(Tensor weight, Tensor logits, int classAxis)
    {
        var c = logits.Shape.Dims[classAxis];
        if (weight.Rank != 1 || weight.Shape[0] != c)
            throw new LoomException($"cross_entropy: class weights must be [{c}], found {weight.Shape}");
        var dims = Enumerable.Repeat(1, logits.Rank).ToArray();
        dims[classAxis] = c;
        return Reshape(weight.Detach(), new Shape(dims));
    }

    private static Tensor NotIgnoredMask(Tensor target, int ignoreIndex, DType dtype)
    {
        var mask = Tensor.Empty(target.Shape, dtype);
        var t = target.Span<int>();
        for (var i = 0; i < t.Length; i++) mask.SetFlat(i, t[i] == ignoreIndex ? 0 : 1);
        return mask;
    }

    private static double TargetWeightSum(Tensor target, Tensor weight, int ignoreIndex)
    {
        var sum = 0.0;
        foreach (var cls in target.Span<int>())
            if (cls != ignoreIndex) sum += weight.GetFlat(cls);
        return sum;
    }
}
