using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// Batch normalisation as one op, as PyTorch's <c>torch.nn.functional.batch_norm</c>. Composed of elementwise ops it
/// made five full-size tensors in the forward and as many gradients in the backward for every BatchNorm layer (a
/// ResNet's working set grew to gigabytes); here the forward reads x twice and writes y once, the backward reads
/// x and g twice and writes ∂x once.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// y = (x − μ_c)·γ_c/√(v_c + ε) + β_c per channel c (axis 1 of [N, C, …]). Training: μ, v are the batch's mean
    /// and biased variance over the M = N·(spatial) values of each channel, and the running statistics (when given)
    /// move towards them: r ← (1 − momentum)·r + momentum·batch (the variance unbiased, ·M/(M − 1)). Otherwise the
    /// running statistics are used. Backward, with σ̂ = 1/√(v + ε), x̂ = (x − μ)σ̂:
    /// batch statistics ∂x = γσ̂·(g − Σg/M − x̂·Σ(g·x̂)/M); fixed statistics ∂x = γσ̂·g; both ∂γ = Σ g·x̂, ∂β = Σ g.
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        Tensor.RequireFloat(input, "batch_norm");
        if (input.Rank < 2) throw new LoomException($"batch_norm: expected input (N, C, …), found {input.Shape}");
        var c = input.Shape[1];
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
        {
            if (t is not null && (t.Numel != c || t.DType != input.DType))
                throw new LoomException($"batch_norm: {name} must hold {c} {input.DType.TorchName()} values (one per channel), found {t.Shape} {t.DType.TorchName()}");
        }
        var m = input.Numel / Math.Max(1, c);
        if (training && m <= 1) throw new LoomException($"batch_norm: expected more than 1 value per channel when training, got input {input.Shape}");
        if (!training && (runningMean is null || runningVar is null))
            throw new LoomException("batch_norm: evaluation needs running_mean and running_var (or training = true)");
        return input.DType == DType.Float32
            ? BatchNorm<float>(input, runningMean, runningVar, weight, bias, training, momentum, eps)
            : BatchNorm<double>(input, runningMean, runningVar, weight, bias, training, momentum, eps);
    }

    private static Tensor BatchNorm<T>(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, bool training, double momentum, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (n, c) = (x.Shape[0], x.Shape[1]);
        var inner = x.Numel / Math.Max(1, n * c);
        var m = n * inner;
        var mean = new double[c];
        var invStd = new double[c];
        var (xs, gamma, beta) = (x.Data<T>(), weight?.Data<T>(), bias?.Data<T>());
        var y = x.EmptyLike();
        var ys = y.Data<T>();
        var variance = training ? new double[c] : null;
        ForChannels<T>(c, m, inner, (c0, c1, scratch) =>
        {
            for (var ch = c0; ch < c1; ch++)
            {
                double mu, v;
                if (training)
                {
                    double sum = 0, squares = 0;
                    for (var i = 0; i < n; i++) sum += double.CreateTruncating(TensorPrimitives.Sum<T>(xs.AsSpan(((i * c) + ch) * inner, inner)));
                    mu = sum / m;
                    var muT = T.CreateTruncating(mu);
                    for (var i = 0; i < n; i++)
                    {
                        TensorPrimitives.Subtract(xs.AsSpan(((i * c) + ch) * inner, inner), muT, scratch);
                        squares += double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(scratch));
                    }
                    v = squares / m;
                    variance![ch] = v;
                }
                else
                {
                    mu = double.CreateTruncating(runningMean!.Data<T>()[ch]);
                    v = double.CreateTruncating(runningVar!.Data<T>()[ch]);
                }
                mean[ch] = mu;
                invStd[ch] = 1 / Math.Sqrt(v + eps);
                // x − μ is taken against μ rounded to T; the rounding's share, (μ_T − μ)·scale, moves into the shift.
                var mean0 = T.CreateTruncating(mu);
                var scaleD = invStd[ch] * (gamma is null ? 1 : double.CreateTruncating(gamma[ch]));
                var scale = T.CreateTruncating(scaleD);
                var shift = T.CreateTruncating((beta is null ? 0 : double.CreateTruncating(beta[ch])) + ((double.CreateTruncating(mean0) - mu) * scaleD));
                for (var i = 0; i < n; i++)
                {
                    var dst = ys.AsSpan(((i * c) + ch) * inner, inner);
                    TensorPrimitives.Subtract(xs.AsSpan(((i * c) + ch) * inner, inner), mean0, dst);
                    TensorPrimitives.Multiply(dst, scale, dst);
                    TensorPrimitives.Add(dst, shift, dst);
                }
            }
        });
        if (training && runningMean is not null && runningVar is not null)
        {
            var (rm, rv) = (runningMean.Data<T>(), runningVar.Data<T>());
            for (var ch = 0; ch < c; ch++)
            {
                rm[ch] = T.CreateTruncating(((1 - momentum) * double.CreateTruncating(rm[ch])) + (momentum * mean[ch]));
                rv[ch] = T.CreateTruncating(((1 - momentum) * double.CreateTruncating(rv[ch])) + (momentum * variance![ch] * m / (m - 1)));
            }
        }
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return Autograd.Record(y, "batch_norm", [.. inputs], grad =>
        {
            var gs = (grad.DType == x.DType ? grad : grad.To(x.DType)).Data<T>();
            var dx = x.RequiresGrad ? x.EmptyLike() : null;
            var (dxs, sumG, sumGx) = (dx?.Data<T>(), new double[c], new double[c]);
            ForChannels<T>(c, m, inner, (c0, c1, scratch) =>
            {
                for (var ch = c0; ch < c1; ch++)
                {
                    var mean0 = T.CreateTruncating(mean[ch]);
                    double sg = 0, sgx = 0; // Σ g and Σ g·(x − μ)
                    for (var i = 0; i < n; i++)
                    {
                        var at = ((i * c) + ch) * inner;
                        sg += double.CreateTruncating(TensorPrimitives.Sum<T>(gs.AsSpan(at, inner)));
                        TensorPrimitives.Subtract(xs.AsSpan(at, inner), mean0, scratch);
                        sgx += double.CreateTruncating(TensorPrimitives.Dot<T>(gs.AsSpan(at, inner), scratch));
                    }
                    // The sums above used μ rounded to T (μ_T); drift = μ_T − μ puts back what that rounding took, and the
                    // k·drift term below does the same for ∂x. Without it, Σ∂x (which is 0: ∂x is orthogonal to a
                    // constant shift) picks up k·M·drift, and k grows as σ̂³: two nearly equal inputs in one channel made
                    // a float32 ∂x that summed to 1.4e-4 instead of 0.
                    var drift = double.CreateTruncating(mean0) - mean[ch];
                    sgx += drift * sg;
                    (sumG[ch], sumGx[ch]) = (sg, sgx * invStd[ch]);
                    if (dxs is null) continue;
                    var s = invStd[ch] * (gamma is null ? 1 : double.CreateTruncating(gamma[ch]));
                    // Batch statistics: ∂x = s·g − s·Σg/M − (s·σ̂²·Σg(x−μ)/M)·(x − μ); fixed: ∂x = s·g.
                    var kD = -s * invStd[ch] * invStd[ch] * sgx / m;
                    var (k, offset) = training
                        ? (T.CreateTruncating(kD), T.CreateTruncating((-s * sg / m) + (kD * drift)))
                        : (T.Zero, T.Zero);
                    var sT = T.CreateTruncating(s);
                    for (var i = 0; i < n; i++)
                    {
                        var at = ((i * c) + ch) * inner;
                        var dst = dxs.AsSpan(at, inner);
                        TensorPrimitives.Subtract(xs.AsSpan(at, inner), mean0, dst);
                        TensorPrimitives.Multiply(dst, k, dst);
                        TensorPrimitives.Add(dst, offset, dst);
                        TensorPrimitives.MultiplyAdd(gs.AsSpan(at, inner), sT, dst, dst);
                    }
                }
            });
            var grads = new Tensor?[inputs.Count];
            grads[0] = dx;
            var next = 1;
            if (weight is not null) grads[next++] = weight.RequiresGrad ? PerChannel<T>(sumGx, x.DType) : null;
            if (bias is not null) grads[next] = bias.RequiresGrad ? PerChannel<T>(sumG, x.DType) : null;
            return grads;
        });
    }

    /// <summary>A [C] tensor of per-channel sums.</summary>
    private static Tensor PerChannel<T>(double[] values, DType dtype)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Tensor.Empty(new Shape(values.Length), dtype);
        var span = t.Data<T>();
        for (var i = 0; i < values.Length; i++) span[i] = T.CreateTruncating(values[i]);
        return t;
    }

    private delegate void ChannelBody<T>(int c0, int c1, Span<T> scratch);

    /// <summary>
    /// Runs body(c0, c1, scratch) over contiguous ranges of channels, in parallel when the work is large enough; a
    /// channel is always summed by one thread in one order, so the bits do not depend on the thread count.
    /// </summary>
    private static void ForChannels<T>(int channels, int perChannel, int inner, ChannelBody<T> body)
    {
        var parts = (long)channels * perChannel >= 1 << 15 ? Math.Min(channels, Threads.Count) : 1;
        GemmTeam.For(parts, part =>
        {
            var (c0, c1) = Threads.Range(channels, parts, part);
            var scratch = ArrayPool<T>.Shared.Rent(Math.Max(1, inner));
            try
            {
                body(c0, c1, scratch.AsSpan(0, inner));
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        });
    }
}
