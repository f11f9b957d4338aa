using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using Loom.Kernels;

namespace Loom;

/// <summary>The cell of a recurrent stack.</summary>
internal enum CellKind
{
    RnnTanh,
    RnnRelu,
    Lstm,
    Gru,
}

/// <summary>The sizes of a recurrent stack, as the fused op needs them.</summary>
internal sealed record RecurrentShape(CellKind Kind, int Layers, int Directions, int InputSize, int Hidden, bool Bias, bool BatchFirst)
{
    /// <summary>Gates per unit: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).</summary>
    public int Gates => Kind switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    /// <summary>Parameters per layer and direction: weight_ih, weight_hh (and bias_ih, bias_hh).</summary>
    public int ParamsPerDirection => Bias ? 4 : 2;

    /// <summary>The op's name in errors and on the tape.</summary>
    public string Name => Kind switch { CellKind.Lstm => "lstm", CellKind.Gru => "gru", CellKind.RnnRelu => "rnn_relu", _ => "rnn_tanh" };
}

/// <summary>
/// The fused recurrent stack (RNN, LSTM, GRU; layers, directions, variable lengths, dropout between layers) as ONE
/// autograd node, with the backward through time written by hand.
/// Forward, per layer and direction: one GEMM projects the inputs of all T·N rows (G = X·W_ihᵀ + b); then, per step,
/// one GEMM W_hh·h_prev for the N rows and the fused gate kernel of <see cref="RecurrentKernels"/> per row.
/// Backward, per layer and direction: the per-step kernels walk time backwards producing ∂ℓ/∂(pre-activations) in
/// place of the saved gates and one GEMM per step carries ∂ℓ/∂h_prev = ∂G·W_hh; then ∂W_ih = ∂Gᵀ·X, ∂W_hh = ∂Gₕᵀ·H_prev
/// and ∂X = ∂G·W_ih are each ONE GEMM over all rows. Scratch buffers are rented from <see cref="ArrayPool{T}"/> and
/// returned after the backward (or at once when nothing needs gradients): no allocation per step.
/// Rows are kept in the input's own order (time-major or batch-first): row(t, b) = t·ts + b·bs, and a step's N rows
/// are read with a leading dimension of bs·width, so batch_first costs no transposes.
/// Padded steps (t ≥ length[b]) copy the state through, output zero and pass gradients straight through; the reverse
/// direction runs t = T−1 … 0 and so starts each sequence at its own last valid step.
/// </summary>
internal static class RecurrentFused
{
    /// <summary>
    /// Runs the stack. <paramref name="weights"/> holds, for layer l and direction d (index k = l·D + d), the
    /// parameters k·P … k·P+P−1 in PyTorch's order weight_ih, weight_hh, bias_ih, bias_hh. Inputs are validated by the
    /// caller. Returns the last layer's output ([T, N, D·H], or [N, T, D·H] batch-first) and the final states [L·D, N, H].
    /// </summary>
    public static (Tensor Output, Tensor HN, Tensor? CN) Forward(RecurrentShape spec, Tensor x, IReadOnlyList<Tensor> weights,
        Tensor? h0, Tensor? c0, int[]? lengths, double dropout, Generator? dropoutGenerator)
    {
        return x.DType == DType.Float32
            ? Run<float>(spec, x, weights, h0, c0, lengths, dropout, dropoutGenerator)
            : Run<double>(spec, x, weights, h0, c0, lengths, dropout, dropoutGenerator);
    }

    /// <summary>
    /// The inverted-dropout mask between layers: each element 0 with probability p, else 1/(1 − p), drawn in row-major
    /// order. The composed path draws the same mask from the same generator state.
    /// </summary>
    internal static Tensor DropoutMask(Shape shape, DType dtype, double p, Generator generator)
    {
        var mask = Tensor.Empty(shape, dtype);
        var scale = 1 / (1 - p);
        for (var i = 0; i < mask.Numel; i++) mask.SetFlat(i, generator.NextDouble() >= p ? scale : 0);
        return mask;
    }

    /// <summary>What one forward pass keeps for its backward. Arrays are rented; <see cref="ReturnAll"/> gives them back.</summary>
    private sealed class Tape<T>(RecurrentShape spec, int steps, int batch, int[]? lengths)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly List<T[]> _rented = [];

        public RecurrentShape Spec { get; } = spec;
        public int Steps { get; } = steps;
        public int Batch { get; } = batch;
        public int[]? Lengths { get; } = lengths;
        public int Ts => Spec.BatchFirst ? 1 : Batch;
        public int Bs => Spec.BatchFirst ? Steps : 1;
        public int Rows => Steps * Batch;

        /// <summary>Per layer: its input rows (layer 0: the caller's x) and their width.</summary>
        public T[][] X { get; } = new T[spec.Layers][];
        public int[] InSizes { get; } = new int[spec.Layers];

        /// <summary>Per layer below the top: the dropout mask applied to its output (null when off).</summary>
        public T[]?[] Masks { get; } = new T[]?[spec.Layers];

        /// <summary>Per layer·direction: gates (activated), h_prev per row, c_prev per row (LSTM), W_hn h + b_hn (GRU).</summary>
        public T[][] G { get; } = new T[spec.Layers * spec.Directions][];
        public T[][] S { get; } = new T[spec.Layers * spec.Directions][];
        public T[]?[] C { get; } = new T[]?[spec.Layers * spec.Directions];
        public T[]?[] Ghn { get; } = new T[]?[spec.Layers * spec.Directions];

        public Tensor? GradY { get; set; }
        public Tensor? GradHN { get; set; }
        public Tensor? GradCN { get; set; }
        public Tensor? ZeroY { get; set; }

        public bool Valid(int t, int b) => Lengths is null || t < Lengths[b];

        public T[] Rent(int count)
        {
            var a = ArrayPool<T>.Shared.Rent(Math.Max(1, count));
            _rented.Add(a);
            return a;
        }

        public void ReturnAll()
        {
            foreach (var a in _rented) ArrayPool<T>.Shared.Return(a);
            _rented.Clear();
        }
    }

    private static (Tensor Output, Tensor HN, Tensor? CN) Run<T>(RecurrentShape spec, Tensor x, IReadOnlyList<Tensor> weights,
        Tensor? h0, Tensor? c0, int[]? lengths, double dropout, Generator? dropoutGenerator)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (layers, dirs, hidden, gh) = (spec.Layers, spec.Directions, spec.Hidden, spec.Gates * spec.Hidden);
        var steps = x.Shape[spec.BatchFirst ? 1 : 0];
        var n = x.Shape[spec.BatchFirst ? 0 : 1];
        var tape = new Tape<T>(spec, steps, n, lengths);
        var (rows, ts, bs) = (tape.Rows, tape.Ts, tape.Bs);
        var kind = spec.Kind;
        var lstm = kind == CellKind.Lstm;
        var gru = kind == CellKind.Gru;
        var p = spec.ParamsPerDirection;

        var hn = Tensor.Empty(new Shape(layers * dirs, n, hidden), x.DType);
        var cn = lstm ? Tensor.Empty(hn.Shape, x.DType) : null;
        var hnS = hn.Data<T>();
        var cnS = cn?.Data<T>();
        var ghStep = tape.Rent(n * gh);
        var input = x.Data<T>();
        var inSize = spec.InputSize;
        Tensor? output = null;
        for (var l = 0; l < layers; l++)
        {
            var width = dirs * hidden;
            T[] y;
            if (l == layers - 1)
            {
                output = Tensor.Empty(spec.BatchFirst ? new Shape(n, steps, width) : new Shape(steps, n, width), x.DType);
                y = output.Data<T>();
            }
            else
            {
                y = tape.Rent(rows * width);
            }
            tape.X[l] = input;
            tape.InSizes[l] = inSize;
            for (var d = 0; d < dirs; d++)
            {
                var k = l * dirs + d;
                var wih = weights[k * p].Data<T>();
                var whh = weights[k * p + 1].Data<T>();
                var bih = spec.Bias ? weights[k * p + 2].Data<T>() : null;
                var bhh = spec.Bias ? weights[k * p + 3].Data<T>() : null;
                var g = tape.G[k] = tape.Rent(rows * gh);
                var s = tape.S[k] = tape.Rent(rows * hidden);
                var c = lstm ? tape.C[k] = tape.Rent(rows * hidden) : null;
                var ghn = gru ? tape.Ghn[k] = tape.Rent(rows * hidden) : null;

                // G = X·W_ihᵀ + b_ih (+ b_hh, folded in except for the GRU, whose b_hn sits inside r ⊙ (·)).
                if (bih is not null && bhh is not null)
                {
                    var rowBias = g.AsSpan(0, gh);
                    bih.CopyTo(rowBias);
                    if (!gru) TensorPrimitives.Add(rowBias, bhh, rowBias);
                    for (var r = 1; r < rows; r++) rowBias.CopyTo(g.AsSpan(r * gh, gh));
                }
                Gemm.Run(false, true, rows, gh, inSize, T.One, input, inSize, wih, inSize, bih is null ? T.Zero : T.One, g, gh);

                var first = d == 0 ? 0 : steps - 1;
                for (var b = 0; b < n; b++)
                {
                    var row = first * ts + b * bs;
                    CopyOrClear(h0, (k * n + b) * hidden, s.AsSpan(row * hidden, hidden));
                    if (c is not null) CopyOrClear(c0, (k * n + b) * hidden, c.AsSpan(row * hidden, hidden));
                }

                for (var step = 0; step < steps; step++)
                {
                    var t = d == 0 ? step : steps - 1 - step;
                    var next = d == 0 ? t + 1 : t - 1;
                    var last = next < 0 || next >= steps;
                    // gh = H_prev·W_hhᵀ (+ b_hh for the GRU) for the N rows of step t.
                    var ghBeta = T.Zero;
                    if (gru && bhh is not null)
                    {
                        for (var b = 0; b < n; b++) bhh.CopyTo(ghStep.AsSpan(b * gh, gh));
                        ghBeta = T.One;
                    }
                    Gemm.Run(false, true, n, gh, hidden, T.One, s.AsSpan(t * ts * hidden), bs * hidden, whh, hidden, ghBeta, ghStep, gh);

                    for (var b = 0; b < n; b++)
                    {
                        var row = t * ts + b * bs;
                        var nextRow = next * ts + b * bs;
                        var hPrev = s.AsSpan(row * hidden, hidden);
                        var hNext = last ? hnS.AsSpan((k * n + b) * hidden, hidden) : s.AsSpan(nextRow * hidden, hidden);
                        var cPrev = c is null ? default : c.AsSpan(row * hidden, hidden);
                        var cNext = c is null ? default : last ? cnS!.AsSpan((k * n + b) * hidden, hidden) : c.AsSpan(nextRow * hidden, hidden);
                        var yRow = y.AsSpan(row * width + d * hidden, hidden);
                        if (!tape.Valid(t, b))
                        {
                            hPrev.CopyTo(hNext);
                            cPrev.CopyTo(cNext);
                            yRow.Clear();
                            continue;
                        }
                        var gates = g.AsSpan(row * gh, gh);
                        var ghRow = ghStep.AsSpan(b * gh, gh);
                        switch (kind)
                        {
                            case CellKind.Lstm: RecurrentKernels.LstmForward(gates, ghRow, cPrev, cNext, hNext); break;
                            case CellKind.Gru: RecurrentKernels.GruForward(gates, ghRow, hPrev, ghn!.AsSpan(row * hidden, hidden), hNext); break;
                            default: RecurrentKernels.RnnForward(gates, ghRow, kind == CellKind.RnnRelu, hNext); break;
                        }
                        hNext.CopyTo(yRow);
                    }
                }
            }

            input = y;
            inSize = width;
            if (l < layers - 1 && dropout > 0)
            {
                var mask = DropoutMask(new Shape(rows * width), x.DType, dropout, dropoutGenerator ?? Rng.Global).Data<T>();
                var dropped = tape.Rent(rows * width);
                TensorPrimitives.Multiply(y.AsSpan(0, rows * width), mask, dropped.AsSpan(0, rows * width));
                tape.Masks[l] = mask;
                input = dropped;
            }
        }

        var result = output!;
        var inputList = new List<Tensor>(weights.Count + 3) { x };
        inputList.AddRange(weights);
        if (h0 is not null) inputList.Add(h0);
        if (c0 is not null) inputList.Add(c0);
        var inputs = inputList.ToArray();
        if (!Autograd.Needs(inputs))
        {
            tape.ReturnAll();
            return (result, hn, cn);
        }
        result = Autograd.Record(result, spec.Name, inputs, grad =>
        {
            tape.GradY = grad;
            try
            {
                return Backward(tape, x, weights, h0, c0, hn, cn);
            }
            finally
            {
                tape.ReturnAll();
            }
        });
        // h_n and c_n hand their gradients to the main node through the tape; they answer with a zero gradient for
        // the output so that the main node runs even when the loss does not use the output sequence.
        var yShape = result.Shape;
        hn = Autograd.Record(hn, spec.Name + "_h_n", result, grad =>
        {
            tape.GradHN = grad;
            return tape.ZeroY ??= Tensor.Zeros(yShape, x.DType);
        });
        if (cn is not null)
        {
            cn = Autograd.Record(cn, spec.Name + "_c_n", result, grad =>
            {
                tape.GradCN = grad;
                return tape.ZeroY ??= Tensor.Zeros(yShape, x.DType);
            });
        }
        return (result, hn, cn);
    }

    private static void CopyOrClear<T>(Tensor? source, int offset, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => CopyOrClear(source?.Data<T>(), offset, destination);

    private static void CopyOrClear<T>(T[]? source, int offset, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (source is null) destination.Clear();
        else source.AsSpan(offset, destination.Length).CopyTo(destination);
    }

    /// <summary>The backward through time of the whole stack; one gradient per input of the node (x, weights, h0, c0).</summary>
    private static Tensor?[] Backward<T>(Tape<T> tape, Tensor x, IReadOnlyList<Tensor> weights, Tensor? h0, Tensor? c0, Tensor hn, Tensor? cn)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var spec = tape.Spec;
        var (layers, dirs, hidden, gh) = (spec.Layers, spec.Directions, spec.Hidden, spec.Gates * spec.Hidden);
        var (steps, n, rows, ts, bs) = (tape.Steps, tape.Batch, tape.Rows, tape.Ts, tape.Bs);
        var kind = spec.Kind;
        var gru = kind == CellKind.Gru;
        var p = spec.ParamsPerDirection;
        var grads = new Tensor?[1 + weights.Count + (h0 is null ? 0 : 1) + (c0 is null ? 0 : 1)];
        var h0Index = 1 + weights.Count;
        var c0Index = h0Index + (h0 is null ? 0 : 1);
        var dh0 = h0 is { RequiresGrad: true } ? Tensor.Zeros(h0.Shape, h0.DType) : null;
        var dc0 = c0 is { RequiresGrad: true } ? Tensor.Zeros(c0.Shape, c0.DType) : null;
        var gradHn = tape.GradHN?.Data<T>();
        var gradCn = tape.GradCN?.Data<T>();
        var hnS = hn.Data<T>();
        var cnS = cn?.Data<T>();
        var dhRow = tape.Rent(hidden);
        var scratch = tape.Rent(hidden);
        var dhCarry = tape.Rent(n * hidden);
        var dcCarry = tape.Rent(n * hidden);
        var dY = tape.GradY!.Data<T>();

        for (var l = layers - 1; l >= 0; l--)
        {
            var inSize = tape.InSizes[l];
            var xl = tape.X[l];
            var width = dirs * hidden;
            T[]? dx = l > 0 ? tape.Rent(rows * inSize) : x.RequiresGrad ? new T[rows * inSize] : null;
            for (var d = 0; d < dirs; d++)
            {
                var k = l * dirs + d;
                var wih = weights[k * p].Data<T>();
                var whh = weights[k * p + 1].Data<T>();
                var (g, s, c, ghn) = (tape.G[k], tape.S[k], tape.C[k], tape.Ghn[k]);
                var dgh = gru ? tape.Rent(rows * gh) : g;
                CopyOrClear(gradHn, k * n * hidden, dhCarry.AsSpan(0, n * hidden));
                CopyOrClear(gradCn, k * n * hidden, dcCarry.AsSpan(0, n * hidden));

                for (var step = steps - 1; step >= 0; step--)
                {
                    var t = d == 0 ? step : steps - 1 - step;
                    var next = d == 0 ? t + 1 : t - 1;
                    var last = next < 0 || next >= steps;
                    for (var b = 0; b < n; b++)
                    {
                        var row = t * ts + b * bs;
                        var gates = g.AsSpan(row * gh, gh);
                        if (!tape.Valid(t, b))
                        {
                            gates.Clear();
                            if (gru) dgh.AsSpan(row * gh, gh).Clear();
                            continue;
                        }
                        var carry = dhCarry.AsSpan(b * hidden, hidden);
                        var dh = dhRow.AsSpan(0, hidden);
                        TensorPrimitives.Add(carry, dY.AsSpan(row * width + d * hidden, hidden), dh);
                        switch (kind)
                        {
                            case CellKind.Lstm:
                                var cNext = last ? cnS!.AsSpan((k * n + b) * hidden, hidden) : c!.AsSpan((next * ts + b * bs) * hidden, hidden);
                                RecurrentKernels.LstmBackward(gates, c!.AsSpan(row * hidden, hidden), cNext, dh,
                                    dcCarry.AsSpan(b * hidden, hidden), scratch.AsSpan(0, hidden));
                                carry.Clear();
                                break;
                            case CellKind.Gru:
                                RecurrentKernels.GruBackward(gates, dgh.AsSpan(row * gh, gh), ghn!.AsSpan(row * hidden, hidden),
                                    s.AsSpan(row * hidden, hidden), dh, carry);
                                break;
                            default:
                                RecurrentKernels.RnnBackward(gates, dh, kind == CellKind.RnnRelu);
                                carry.Clear();
                                break;
                        }
                    }
                    // ∂ℓ/∂h_prev += ∂Gₕ·W_hh for the N rows of step t (padded rows have ∂Gₕ = 0).
                    Gemm.Run(false, false, n, hidden, gh, T.One, dgh.AsSpan(t * ts * gh), bs * gh, whh, hidden, T.One, dhCarry, hidden);
                }

                if (dh0 is not null) dhCarry.AsSpan(0, n * hidden).CopyTo(dh0.Data<T>().AsSpan(k * n * hidden));
                if (dc0 is not null) dcCarry.AsSpan(0, n * hidden).CopyTo(dc0.Data<T>().AsSpan(k * n * hidden));
                if (weights[k * p].RequiresGrad)
                {
                    var dw = Tensor.Empty(weights[k * p].Shape, x.DType);
                    Gemm.Run(true, false, gh, inSize, rows, T.One, g, gh, xl, inSize, T.Zero, dw.Data<T>(), inSize);
                    grads[1 + k * p] = dw;
                }
                if (weights[k * p + 1].RequiresGrad)
                {
                    var dw = Tensor.Empty(weights[k * p + 1].Shape, x.DType);
                    Gemm.Run(true, false, gh, hidden, rows, T.One, dgh, gh, s, hidden, T.Zero, dw.Data<T>(), hidden);
                    grads[1 + k * p + 1] = dw;
                }
                if (spec.Bias)
                {
                    if (weights[k * p + 2].RequiresGrad) grads[1 + k * p + 2] = ColumnSums(g, rows, gh, x.DType);
                    if (weights[k * p + 3].RequiresGrad) grads[1 + k * p + 3] = ColumnSums(dgh, rows, gh, x.DType);
                }
                if (dx is not null)
                    Gemm.Run(false, false, rows, inSize, gh, T.One, g, gh, wih, inSize, d == 0 ? T.Zero : T.One, dx, inSize);
            }

            if (l > 0)
            {
                var dyBelow = dx!.AsSpan(0, rows * inSize);
                if (tape.Masks[l - 1] is { } mask) TensorPrimitives.Multiply(dyBelow, mask, dyBelow);
                dY = dx;
            }
            else if (dx is not null)
            {
                grads[0] = new Tensor(dx, x.Shape, x.DType);
            }
        }

        if (h0 is not null) grads[h0Index] = dh0;
        if (c0 is not null) grads[c0Index] = dc0;
        return grads;
    }

    private static Tensor ColumnSums<T>(T[] m, int rows, int cols, DType dtype)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = Tensor.Zeros(new Shape(cols), dtype);
        var s = sum.Data<T>().AsSpan();
        for (var r = 0; r < rows; r++) TensorPrimitives.Add(s, m.AsSpan(r * cols, cols), s);
        return sum;
    }
}
