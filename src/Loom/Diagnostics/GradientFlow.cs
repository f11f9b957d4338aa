using Loom.Data.Sequences;
using Loom.Nn;

namespace Loom.Diagnostics;

/// <summary>
/// How gradients flow back through time in a recurrent model, measured on a batch: ‖∂ℓ/∂h[t]‖ for every step t
/// (the loss taken at the last step, as in a sequence classifier), their ratio first/last, and the one-step Jacobians
/// ∂h[t]/∂h[t−1] with their spectral norms. A product of Jacobians with norms below 1 shrinks the gradient
/// geometrically: that is the vanishing gradient, and a ratio like 1e-11 says the first steps cannot be learned.
/// </summary>
/// <example><code>
/// var task = new TemporalOrder(TemporalOrderLevel.Normal, seed: 1);
/// var rnn = new Rnn(8, 16);
/// var head = new Linear(16, 4);
/// var report = GradientFlow.Measure(rnn, head, task.TestBatches()[0]);
/// Console.WriteLine(report.FirstToLast);   // ~1e-11 for an untrained tanh RNN: the gradient vanishes
/// </code></example>
public static class GradientFlow
{
    private const string Op = "gradflow";

    /// <summary>
    /// Measures <paramref name="model"/> followed by <paramref name="head"/> (applied to the last hidden state) on a
    /// batch of a per-sequence task (or, for per-step targets, the last step's targets). Parameter gradients are left
    /// untouched: the model's and the head's parameters are frozen during the measurement.
    /// </summary>
    public static GradientFlowReport Measure(IRecurrentCell model, Module head, SequenceBatch batch, GradientFlowOptions? options = null)
    {
        if (batch.Lengths is not null)
            throw new LoomException($"{Op}: the batch has variable lengths; measure on a batch of full-length sequences (the loss is taken at the last step)");
        using var frozen = new Freeze(model as Module, head);
        return Measure(model, head.Forward, batch.Inputs, batch.Targets, options);
    }

    /// <summary>
    /// Measures <paramref name="model"/> on <paramref name="inputs"/> [B, T, F] (batch-first) with the loss
    /// ℓ = cross-entropy(head(h[T]), targets) averaged over the batch; <paramref name="targets"/> is [B] (or [B, T], of
    /// which the last step is used). <paramref name="head"/> maps [B, H] to logits [B, C].
    /// Shape: grad_norms has T entries (t = 1 … T), jacobian norms T entries (∂h[t]/∂h[t−1], t = 1 … T).
    /// </summary>
    public static GradientFlowReport Measure(IRecurrentCell model, Func<Tensor, Tensor> head, Tensor inputs, Tensor targets,
        GradientFlowOptions? options = null)
    {
        options ??= new GradientFlowOptions();
        if (inputs.Rank != 3 || inputs.Shape[2] != model.InputSize)
            throw new LoomException($"{Op}: inputs must be [B, T, {model.InputSize}] (batch-first), found {inputs.Shape}");
        var (batch, steps) = (inputs.Shape[0], inputs.Shape[1]);
        if (targets.DType != DType.Int32 || targets.Shape[0] != batch || targets.Rank > 2)
            throw new LoomException($"{Op}: targets must be int32 [{batch}] or [{batch}, T], found {targets.DType.TorchName()} {targets.Shape}");
        if (targets.Rank == 2) targets = Functional.Select(targets, 1, targets.Shape[1] - 1);
        if (options.JacobianSamples < 1) throw new LoomException($"{Op}: jacobian samples must be positive, found {options.JacobianSamples}");
        using var frozen = new Freeze(model as Module, null);

        var state = model.InitialState(batch, inputs.DType);
        var before = new CellState[steps];
        var probes = new Tensor[steps];
        for (var t = 0; t < steps; t++)
        {
            before[t] = state;
            state = model.Step(Functional.Select(inputs, 1, t), state);
            // h̃[t] = h[t] + δ[t] with δ[t] = 0: ∂ℓ/∂δ[t] = ∂ℓ/∂h[t], the total derivative through every later step.
            probes[t] = Tensor.Zeros(state.H.Shape, state.H.DType).RequiresGrad_();
            state = state with { H = Functional.Add(state.H, probes[t]) };
        }
        var loss = Functional.CrossEntropy(head(state.H), targets);
        loss.Backward();

        var norms = new double[steps];
        for (var t = 0; t < steps; t++) norms[t] = probes[t].Grad is { } g ? Norm(g) : 0;
        double[]? mean = null, max = null;
        if (options.Jacobians)
        {
            var samples = Math.Min(options.JacobianSamples, batch);
            mean = new double[steps];
            max = new double[steps];
            for (var t = 0; t < steps; t++)
            {
                var x = Functional.Narrow(Functional.Select(inputs, 1, t), 0, 0, samples);
                var jacobians = StepJacobians(model, x, Rows(before[t], samples));
                foreach (var j in jacobians)
                {
                    var s = SpectralNorm(j);
                    mean[t] += s / samples;
                    max[t] = Math.Max(max[t], s);
                }
            }
        }
        return new GradientFlowReport(model.CellName, steps, batch, model.HiddenSize, loss.Item(), norms, norms[0] / norms[steps - 1], mean, max);
    }

    /// <summary>
    /// The one-step Jacobians J[i, k] = ∂h[t]ᵢ / ∂h[t−1]ₖ of each sequence of a batch, by reverse-mode autograd: the
    /// batch is repeated H times so that one backward pass yields every row (row i of sample s comes from copy (s, i)).
    /// Only h[t−1] varies; the input, the LSTM's c[t−1] and AttentionRNN's older states are held fixed.
    /// Args: x [N, in] the input at step t; state the state after step t − 1.
    /// Shape: N matrices of H × H.
    /// </summary>
    public static double[][,] StepJacobians(IRecurrentCell cell, Tensor x, CellState state)
    {
        var (n, h) = (x.Shape[0], cell.HiddenSize);
        if (state.H.Shape != new Shape(n, h))
            throw new LoomException($"{Op}: the state h has shape {state.H.Shape}, expected [{n}, {h}] for an input {x.Shape}");
        var copies = new int[n * h];
        for (var s = 0; s < n; s++) for (var i = 0; i < h; i++) copies[s * h + i] = s;
        var index = Tensor.FromArray(copies, copies.Length);
        Tensor Repeat(Tensor t)
        {
            using var _ = Autograd.NoGrad();
            return Functional.IndexSelect(t.Detach(), 0, index);
        }
        var hPrev = Repeat(state.H).RequiresGrad_();
        var repeated = new CellState(hPrev, state.C is null ? null : Repeat(state.C), state.Past?.Select(Repeat).ToList());
        using var frozen = new Freeze(cell as Module, null);
        var next = cell.Step(Repeat(x), repeated);
        var selector = Tensor.Zeros(next.H.Shape, next.H.DType);
        for (var r = 0; r < n * h; r++) selector.SetFlat(r * h + r % h, 1);
        Functional.Sum(Functional.Mul(next.H, selector)).Backward();
        var grad = hPrev.Grad?.ToDoubleArray() ?? new double[n * h * h];
        var result = new double[n][,];
        for (var s = 0; s < n; s++)
        {
            var j = new double[h, h];
            for (var i = 0; i < h; i++) for (var k = 0; k < h; k++) j[i, k] = grad[(s * h + i) * h + k];
            result[s] = j;
        }
        return result;
    }

    /// <summary>The largest singular value of <paramref name="m"/>: √λmax(MᵀM), by Jacobi rotations (exact) up to 128 columns, power iteration beyond.</summary>
    public static double SpectralNorm(double[,] m)
    {
        var (rows, cols) = (m.GetLength(0), m.GetLength(1));
        var a = new double[cols, cols];
        for (var i = 0; i < cols; i++)
            for (var k = i; k < cols; k++)
            {
                var sum = 0.0;
                for (var r = 0; r < rows; r++) sum += m[r, i] * m[r, k];
                a[i, k] = a[k, i] = sum;
            }
        var lambda = cols <= 128 ? SymmetricEigen.LargestByJacobi(a) : SymmetricEigen.LargestByPowerIteration(a);
        return Math.Sqrt(Math.Max(0, lambda));
    }

    private static double Norm(Tensor g)
    {
        var sum = 0.0;
        foreach (var v in g.ToDoubleArray()) sum += v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>The first <paramref name="n"/> rows of every tensor of a state, detached.</summary>
    private static CellState Rows(CellState s, int n)
    {
        Tensor Take(Tensor t) => Functional.Narrow(t.Detach(), 0, 0, n);
        return new CellState(Take(s.H), s.C is null ? null : Take(s.C), s.Past?.Select(Take).ToList());
    }

    /// <summary>Turns parameter gradients off for the measurement and back on afterwards.</summary>
    private sealed class Freeze : IDisposable
    {
        private readonly List<Tensor> _frozen = [];

        public Freeze(Module? model, Module? head)
        {
            foreach (var m in new[] { model, head })
            {
                if (m is null) continue;
                foreach (var p in m.Parameters())
                {
                    if (!p.RequiresGrad) continue;
                    p.RequiresGrad = false;
                    _frozen.Add(p);
                }
            }
        }

        public void Dispose()
        {
            foreach (var p in _frozen) p.RequiresGrad = true;
        }
    }
}
