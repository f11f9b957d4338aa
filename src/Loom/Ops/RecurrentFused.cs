using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// one GEMM adds W_hh·h_prev for the N rows and <see cref="RecurrentKernels"/> applies the gates to the step's block.
/// Backward, per layer and direction: the per-row kernels walk time backwards writing ∂ℓ/∂(pre-activations) over the
/// saved gates, and one GEMM per step carries ∂ℓ/∂h_prev = ∂G·W_hh; then ∂W_ih = ∂Gᵀ·X, ∂W_hh = ∂Gₕᵀ·H_prev and
/// ∂X = ∂G·W_ih are each ONE GEMM over all rows. Scratch buffers are rented from <see cref="ArrayPool{T}"/> and returned
/// after the backward (or at once when nothing needs gradients): nothing is allocated per step.
/// Inside, rows are time-major (row t·N + b), so a step's rows form one contiguous block; batch-first inputs and
/// outputs are transposed at the boundary. The GEMM kernels are fastest with a wide, untransposed right operand, so
/// the weights are transposed once per call and narrow products are computed transposed (<see cref="MatMul"/>).
/// Padded steps (t ≥ length[b]) copy the state through, output zero and pass gradients straight through; the reverse
/// direction runs t = T−1 … 0 and so starts each sequence at its own last valid step.
/// </summary>
internal static class RecurrentFused
{
    /// <summary>Below this many columns a product C = A·B is computed as (Bᵀ·Aᵀ)ᵀ when that makes it wider.</summary>
    private const int NarrowColumns = 32;

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
    /// order of <paramref name="shape"/> (the caller's layout). The composed path draws the same mask.
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
        // Sized for a one-layer stack (about a dozen buffers), so that it does not grow on every call.
        private readonly List<T[]> _rented = new(32);

        public RecurrentShape Spec { get; } = spec;
        public int Steps { get; } = steps;
        public int Batch { get; } = batch;
        public int[]? Lengths { get; } = lengths;
        public int Rows => Steps * Batch;

        /// <summary>Per layer: its input rows, time-major (layer 0: the caller's x, transposed if batch-first).</summary>
        public T[][] X { get; } = new T[spec.Layers][];
        public int[] InSizes { get; } = new int[spec.Layers];

        /// <summary>Per layer below the top: the dropout mask applied to its output (null when off), time-major.</summary>
        public T[]?[] Masks { get; } = new T[]?[spec.Layers];

        /// <summary>Per layer·direction: activated gates, h_prev per row, c_prev and tanh c per row (LSTM), W_hn h + b_hn (GRU).</summary>
        public T[][] G { get; } = new T[spec.Layers * spec.Directions][];
        public T[][] S { get; } = new T[spec.Layers * spec.Directions][];
        public T[]?[] C { get; } = new T[]?[spec.Layers * spec.Directions];
        public T[]?[] TanhC { get; } = new T[]?[spec.Layers * spec.Directions];
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
        var bf = spec.BatchFirst;
        var steps = x.Shape[bf ? 1 : 0];
        var n = x.Shape[bf ? 0 : 1];
        var tape = new Tape<T>(spec, steps, n, lengths);
        var rows = tape.Rows;
        var kind = spec.Kind;
        var lstm = kind == CellKind.Lstm;
        var gru = kind == CellKind.Gru;
        var p = spec.ParamsPerDirection;
        var block = n * hidden;

        var hn = Tensor.Empty(new Shape(layers * dirs, n, hidden), x.DType);
        var cn = lstm ? Tensor.Empty(hn.Shape, x.DType) : null;
        var hnS = hn.Data<T>();
        var cnS = cn?.Data<T>();
        var ghStep = gru ? tape.Rent(n * gh) : null;
        var nStep = gru ? tape.Rent(block) : null;
        var input = x.Data<T>();
        if (bf)
        {
            input = tape.Rent(rows * spec.InputSize);
            RecurrentKernels.SwapLeadingAxes<T>(x.Data<T>(), n, steps, spec.InputSize, input);
        }
        var inSize = spec.InputSize;
        var width = dirs * hidden;
        var output = Tensor.Empty(bf ? new Shape(n, steps, width) : new Shape(steps, n, width), x.DType);
        for (var l = 0; l < layers; l++)
        {
            var y = l == layers - 1 && !bf ? output.Data<T>() : tape.Rent(rows * width);
            tape.X[l] = input;
            tape.InSizes[l] = inSize;
            for (var d = 0; d < dirs; d++)
            {
                var k = l * dirs + d;
                var bih = spec.Bias ? weights[k * p + 2].Data<T>() : null;
                var bhh = spec.Bias ? weights[k * p + 3].Data<T>() : null;
                var wihT = TransposedWeight(tape, weights[k * p].Data<T>(), gh, inSize, lstm ? hidden : 0);
                var whhT = TransposedWeight(tape, weights[k * p + 1].Data<T>(), gh, hidden, lstm ? hidden : 0);
                var g = tape.G[k] = tape.Rent(rows * gh);
                var s = tape.S[k] = tape.Rent(rows * hidden);
                var c = lstm ? tape.C[k] = tape.Rent(rows * hidden) : null;
                var tanhC = lstm ? tape.TanhC[k] = tape.Rent(rows * hidden) : null;
                var ghn = gru ? tape.Ghn[k] = tape.Rent(rows * hidden) : null;

                // G = X·W_ihᵀ + b_ih (+ b_hh, folded in except for the GRU, whose b_hn sits inside r ⊙ (·)).
                // A narrow input (W_ihᵀ within RecurrentStepProduct's right operand: in = 8 at H = 128, 512 gate columns)
                // takes the step product, which adds the bias as it stores each sum — one pass over G (3.2 MB for an
                // LSTM with H = 128) instead of a bias fill and then the GEMM accumulating onto it; the same bits
                // (sum + bias either way). Rows are independent, so H = 128's halves on two threads change no bit.
                // H = 16 (1600×8·8×64) stays on this thread (ParallelPassWork). Wider inputs keep the GEMM.
                var stepProjection = RecurrentStepProduct.Takes<T>(gh, inSize);
                var rowBias = bih is not null && bhh is not null ? tape.Rent(gh) : null;
                if (rowBias is not null)
                {
                    var bias = rowBias.AsSpan(0, gh);
                    bih!.CopyTo(bias);
                    if (!gru) TensorPrimitives.Add(bias, bhh, bias);
                    if (lstm) TensorPrimitives.Multiply(bias.Slice(2 * hidden, hidden), T.One + T.One, bias.Slice(2 * hidden, hidden));
                    // 3.2 MB for an LSTM with H = 128 with a wide input: filled by both threads, as the product after it is.
                    if (!stepProjection)
                    {
                        ForRows(rows, gh, (g, gh, rowBias), static (st, r0, r1) =>
                        {
                            var b = st.rowBias.AsSpan(0, st.gh);
                            for (var r = r0; r < r1; r++) b.CopyTo(st.g.AsSpan(r * st.gh, st.gh));
                        }, ParallelPassWork);
                    }
                }
                if (stepProjection)
                {
                    ForRows(rows, gh, new Projection<T>(gh, inSize, input, wihT, rowBias, g), static (st, r0, r1) => st.Rows(r0, r1), ParallelPassWork);
                }
                else
                {
                    Gemm.Run(false, false, rows, gh, inSize, T.One, input, inSize, wihT, gh, rowBias is null ? T.Zero : T.One, g, gh);
                }

                var first = d == 0 ? 0 : steps - 1;
                CopyOrClear(h0, k * block, s.AsSpan(first * block, block));
                if (c is not null) CopyOrClear(c0, k * block, c.AsSpan(first * block, block));

                // The whole walk through time of each half of the batch rows in one job (rows depend only on their own
                // earlier rows): one join per layer and direction instead of one per step.
                var state = new StepState<T>(tape, kind, hidden, width, d, g, s, c, tanhC, ghn, ghStep, nStep, y, whhT, bhh,
                    hnS, cnS, k * block, h0 is null);
                ForRows(n, gh * hidden, state, static (st, b0, b1) => st.Walk(b0, b1), RecurrenceSplitWork);
            }

            input = y;
            inSize = width;
            if (l < layers - 1 && dropout > 0)
            {
                var userShape = bf ? new Shape(n, steps, width) : new Shape(steps, n, width);
                var mask = DropoutMask(userShape, x.DType, dropout, dropoutGenerator ?? Rng.Global).Data<T>();
                if (bf)
                {
                    var timeMajor = tape.Rent(rows * width);
                    RecurrentKernels.SwapLeadingAxes<T>(mask, n, steps, width, timeMajor);
                    mask = timeMajor;
                }
                var dropped = tape.Rent(rows * width);
                TensorPrimitives.Multiply(y.AsSpan(0, rows * width), mask.AsSpan(0, rows * width), dropped.AsSpan(0, rows * width));
                tape.Masks[l] = mask;
                input = dropped;
            }
        }
        if (bf) RecurrentKernels.SwapLeadingAxes<T>(input.AsSpan(0, rows * width), steps, n, width, output.Data<T>());

        var result = output;
        var inputs = new Tensor[1 + weights.Count + (h0 is null ? 0 : 1) + (c0 is null ? 0 : 1)];
        inputs[0] = x;
        for (var i = 0; i < weights.Count; i++) inputs[1 + i] = weights[i];
        if (h0 is not null) inputs[1 + weights.Count] = h0;
        if (c0 is not null) inputs[^1] = c0;
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
                return Backward(tape, x, weights, h0, c0);
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
            tape.GradHN = grad.Clone(); // read later by the main node: a copy, since the pass recycles grad after this returns
            return tape.ZeroY ??= Tensor.Zeros(yShape, x.DType);
        });
        if (cn is not null)
        {
            cn = Autograd.Record(cn, spec.Name + "_c_n", result, grad =>
            {
                tape.GradCN = grad.Clone();
                return tape.ZeroY ??= Tensor.Zeros(yShape, x.DType);
            });
        }
        return (result, hn, cn);
    }

    /// <summary>
    /// Elements below which a once-per-call pass (the bias fill of the projection, the bias gradients' column sums)
    /// stays on one thread: at H = 16 (100 k elements) the team's worker sleeps between such passes and waking it
    /// costs about what the split saves; at H = 128 (800 k) the pass is worth splitting.
    /// </summary>
    private const long ParallelPassWork = 1L << 18;

    /// <summary>
    /// Multiply-adds of one step's recurrent product (N·G·H·H) from which the walks through time split the batch rows
    /// over two threads: where the GEMM would split that product itself (<see cref="GemmF32.ParallelWork"/>; H = 128:
    /// 2.1 M for an LSTM, 0.5 M for an RNN). H = 16 (33 k for an LSTM with N = 32) stays on one thread, as before.
    /// </summary>
    private static long RecurrenceSplitWork => GemmF32.ParallelWork;

    /// <summary>
    /// Runs <paramref name="body"/> over n rows: split in two halves on the GEMM team when n·rowWidth reaches
    /// <paramref name="minWork"/> (the walks through time of H = 128, large once-per-call passes), else inline (H = 16:
    /// a dispatch costs more than the rows). Rows are independent, so the split never changes a bit.
    /// </summary>
    private static void ForRows<TState>(int n, int rowWidth, TState state, Action<TState, int, int> body, long minWork)
    {
        if (Threads.Count < 2 || n < 2 || (long)n * rowWidth < minWork)
        {
            body(state, 0, n);
            return;
        }
        var halves = RowHalves<TState>.Rent(n, state, body);
        try
        {
            GemmTeam.For(2, halves);
        }
        finally
        {
            halves.Return();
        }
    }

    /// <summary>
    /// The two halves of a <see cref="ForRows"/> job, as a reusable <see cref="ITeamWork"/>: a closure and an adapter
    /// per call were ~100 bytes per time step and direction (≈ 13 KB per training step of an LSTM with H = 128). One
    /// instance per thread and state type; a nested call (none today) would take a fresh one.
    /// </summary>
    private sealed class RowHalves<TState> : ITeamWork
    {
        [ThreadStatic]
        private static RowHalves<TState>? _free;

        private int _n;
        private TState _state = default!;
        private Action<TState, int, int> _body = null!;

        public static RowHalves<TState> Rent(int n, TState state, Action<TState, int, int> body)
        {
            var h = _free ?? new RowHalves<TState>();
            _free = null;
            (h._n, h._state, h._body) = (n, state, body);
            return h;
        }

        /// <summary>Drops the references (the state holds the call's buffers) and keeps the instance for the next call.</summary>
        public void Return()
        {
            (_state, _body) = (default!, null!);
            _free = this;
        }

        public void Run(int part)
        {
            var (b0, b1) = Threads.Range(_n, 2, part);
            _body(_state, b0, b1);
        }
    }

    /// <summary>Rows [r0, r1) of the input projection G = X·W_ihᵀ (+ the bias row) by <see cref="RecurrentStepProduct"/>.</summary>
    private readonly struct Projection<T>(int gh, int inSize, T[] input, T[] wihT, T[]? rowBias, T[] g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Rows(int r0, int r1)
        {
            var rows = r1 - r0;
            var x = input.AsSpan(r0 * inSize, rows * inSize);
            var c = g.AsSpan(r0 * gh, rows * gh);
            if (rowBias is null) RecurrentStepProduct.Run(rows, gh, inSize, x, inSize, wihT, gh, false, c, gh);
            else RecurrentStepProduct.RunWithBias(rows, gh, inSize, x, inSize, wihT, gh, rowBias.AsSpan(0, gh), c, gh);
        }
    }

    /// <summary>
    /// The forward walk through time of rows [b0, b1) (for <see cref="ForRows"/>): per step, the recurrent product
    /// h_prev·W_hhᵀ of those rows, then their gate math. Rows depend only on their own earlier rows, so a split of the
    /// batch over two threads needs one join for the whole walk (before: one per step, where a worker preempted by
    /// another process cost a whole scheduler tick, ~4 ms, on any of the T joins), and each element of the product is
    /// summed in the same order for any split (<see cref="Gemm"/>), so no bit changes. The step's targets are locals,
    /// so the two halves share this instance; nothing is allocated per step.
    /// </summary>
    private sealed class StepState<T>(Tape<T> tape, CellKind kind, int hidden, int width, int d, T[] g, T[] s, T[]? c,
        T[]? tanhC, T[]? ghn, T[]? ghStep, T[]? nStep, T[] y, T[] whhT, T[]? bhh, T[] hn, T[]? cn, int finalAt, bool noH0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>
        /// Steps 0 … T−1 (T−1 … 0 for the reverse direction) of rows [b0, b1): step t's h (and c) go to row block
        /// t ± 1 of s (and c), the last step's to h_n (and c_n). Without h0 the first step's recurrent product is
        /// skipped: h_prev = 0 would add +0 to each pre-activation, which changes no value (at most the sign of a zero,
        /// which no gate function sees) — 1 of T products saved.
        /// </summary>
        public void Walk(int b0, int b1)
        {
            var (steps, block) = (tape.Steps, tape.Batch * hidden);
            for (var step = 0; step < steps; step++)
            {
                var t = d == 0 ? step : steps - 1 - step;
                var next = d == 0 ? t + 1 : t - 1;
                var last = next < 0 || next >= steps;
                var at = last ? finalAt : next * block;
                Forward(t, last ? hn : s, at, last ? cn : c, at, step == 0 && noH0, b0, b1);
            }
        }

        private void Forward(int t, T[] hNextArr, int hNextAt, T[]? cNextArr, int cNextAt, bool zeroPrev, int b0, int b1)
        {
            var n = tape.Batch;
            var prevAt = t * n * hidden;
            var rows = b1 - b0;
            var gh = tape.Spec.Gates * hidden;
            var gru = kind == CellKind.Gru;
            var gt = g.AsSpan((t * n + b0) * gh, rows * gh);
            var hPrev = s.AsSpan(prevAt + b0 * hidden, rows * hidden);
            var hNext = hNextArr.AsSpan(hNextAt + b0 * hidden, rows * hidden);
            var cPrev = c is null ? default : c.AsSpan(prevAt + b0 * hidden, rows * hidden);
            var cNext = cNextArr is null ? default : cNextArr.AsSpan(cNextAt + b0 * hidden, rows * hidden);
            // The GRU keeps W_h· h_prev + b_h· apart (b_hn sits inside r ⊙ (·)); the others add onto the projection.
            var ghRows = gru ? ghStep.AsSpan(b0 * gh, rows * gh) : gt;
            if (gru && bhh is not null)
            {
                for (var b = 0; b < rows; b++) bhh.CopyTo(ghRows.Slice(b * gh, gh));
            }
            var accumulate = !gru || bhh is not null;
            if (zeroPrev)
            {
                if (!accumulate) ghRows.Clear(); // the GRU without b_hh: W_h· h_prev = 0
            }
            else if (RecurrentStepProduct.Takes<T>(gh, hidden)) RecurrentStepProduct.Run(rows, gh, hidden, hPrev, hidden, whhT, gh, accumulate, ghRows, gh);
            else Gemm.Run(false, false, rows, gh, hidden, T.One, hPrev, hidden, whhT, gh, accumulate ? T.One : T.Zero, ghRows, gh);
            switch (kind)
            {
                case CellKind.Lstm:
                    RecurrentKernels.LstmForward(rows, hidden, gt, cPrev, cNext, tanhC.AsSpan(prevAt + b0 * hidden, rows * hidden), hNext);
                    break;
                case CellKind.Gru:
                    RecurrentKernels.GruForward(rows, hidden, gt, ghRows, hPrev,
                        ghn.AsSpan(prevAt + b0 * hidden, rows * hidden), hNext, nStep.AsSpan(b0 * hidden, rows * hidden));
                    break;
                default:
                    RecurrentKernels.RnnForward(gt, kind == CellKind.RnnRelu, hNext);
                    break;
            }
            if (tape.Lengths is null && width == hidden)
            {
                // One direction, every row valid: the step's output rows are one block (one copy, not one per row).
                hNext.CopyTo(y.AsSpan((t * n + b0) * hidden, rows * hidden));
                return;
            }
            for (var b = b0; b < b1; b++)
            {
                var yRow = y.AsSpan((t * n + b) * width + d * hidden, hidden);
                var local = (b - b0) * hidden;
                if (tape.Valid(t, b))
                {
                    hNext.Slice(local, hidden).CopyTo(yRow);
                    continue;
                }
                // A padded step: the state passes through unchanged and the output is zero.
                hPrev.Slice(local, hidden).CopyTo(hNext.Slice(local, hidden));
                if (c is not null) cPrev.Slice(local, hidden).CopyTo(cNext.Slice(local, hidden));
                yRow.Clear();
            }
        }
    }

    /// <summary>
    /// The backward walk through time of rows [b0, b1), for <see cref="ForRows"/>: per step, the per-row kernels, then
    /// ∂ℓ/∂h_prev += ∂Gₕ·W_hh for the same rows (padded rows have ∂Gₕ = 0); row b of the product needs only row b of
    /// ∂Gₕ, so a split of the batch over two threads joins once for the whole walk.
    /// </summary>
    private sealed class BackState<T>(Tape<T> tape, CellKind kind, int hidden, int width, int d, T[] g, T[] s, T[]? c, T[]? tanhC,
        T[]? ghn, T[] dgh, T[] dY, T[] dhCarry, T[] dcCarry, T[] whh, T[] scratch, bool wantDh0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>The walk back through time of rows [b0, b1): steps T−1 … 0 (0 … T−1 for the reverse direction).</summary>
        public void Walk(int b0, int b1)
        {
            var steps = tape.Steps;
            for (var step = steps - 1; step >= 0; step--)
            {
                // At the first step of the sequence ∂ℓ/∂h_prev would only feed ∂ℓ/∂h0.
                Rows(d == 0 ? step : steps - 1 - step, step > 0 || wantDh0, b0, b1);
            }
        }

        // Step t of rows [b0, b1); carryBack: whether the step carries ∂ℓ/∂h back to the step before.
        private void Rows(int t, bool carryBack, int b0, int b1)
        {
            var (n, gh) = (tape.Batch, tape.Spec.Gates * hidden);
            if (kind == CellKind.Lstm && tape.Lengths is null && typeof(T) == typeof(float) && RecurrentLstmStep.Takes(hidden) && b1 > b0)
            {
                // Every row valid: one call for the rows (the per-row calls cost about a row's math at H = 16).
                var (r0, count) = (t * n + b0, b1 - b0);
                RecurrentLstmStep.BackwardRows(count, hidden, F(g.AsSpan(r0 * gh, count * gh)), F(c!.AsSpan(r0 * hidden, count * hidden)),
                    F(tanhC!.AsSpan(r0 * hidden, count * hidden)), F(dhCarry.AsSpan(b0 * hidden, count * hidden)),
                    F(dY.AsSpan((r0 * width) + (d * hidden), ((count - 1) * width) + hidden)), width, F(dcCarry.AsSpan(b0 * hidden, count * hidden)));
            }
            else
            {
                RowByRow(t, b0, b1);
            }
            if (!carryBack) return;
            var rows = b1 - b0;
            if (RecurrentStepProduct.Takes<T>(hidden, gh))
            {
                RecurrentStepProduct.Run(rows, hidden, gh, dgh.AsSpan((t * n + b0) * gh, rows * gh), gh, whh, hidden, true,
                    dhCarry.AsSpan(b0 * hidden, rows * hidden), hidden);
                return;
            }
            MatMulInto(scratch.AsSpan(b0 * hidden, rows * hidden), false, false, rows, hidden, gh, dgh.AsSpan((t * n + b0) * gh, rows * gh), gh,
                whh, hidden, T.One, dhCarry.AsSpan(b0 * hidden, rows * hidden), hidden);
        }

        // One kernel call per row: rows past their sequence's length pass nothing back (∂G = 0).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per row or per time step: optimized at first call (docs/performance.md, "JIT warm-up")
        private void RowByRow(int t, int b0, int b1)
        {
            var (n, gh) = (tape.Batch, tape.Spec.Gates * hidden);
            var gru = kind == CellKind.Gru;
            for (var b = b0; b < b1; b++)
            {
                var row = t * n + b;
                var gates = g.AsSpan(row * gh, gh);
                if (!tape.Valid(t, b))
                {
                    gates.Clear();
                    if (gru) dgh.AsSpan(row * gh, gh).Clear();
                    continue;
                }
                var carry = dhCarry.AsSpan(b * hidden, hidden);
                var dy = dY.AsSpan(row * width + d * hidden, hidden);
                switch (kind)
                {
                    case CellKind.Lstm:
                        RecurrentKernels.LstmBackward(gates, c!.AsSpan(row * hidden, hidden), tanhC!.AsSpan(row * hidden, hidden), carry, dy,
                            dcCarry.AsSpan(b * hidden, hidden));
                        break;
                    case CellKind.Gru:
                        RecurrentKernels.GruBackward(gates, dgh.AsSpan(row * gh, gh), ghn!.AsSpan(row * hidden, hidden),
                            s.AsSpan(row * hidden, hidden), carry, dy);
                        break;
                    default:
                        RecurrentKernels.RnnBackward(gates, carry, dy, kind == CellKind.RnnRelu);
                        break;
                }
            }
        }
    }

    /// <summary>A float32 view of a span the caller has checked is float32 (typeof(T) == typeof(float)).</summary>
    private static Span<float> F<T>(Span<T> x)
        where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    private static void CopyOrClear<T>(Tensor? source, int offset, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> => CopyOrClear(source?.Data<T>(), offset, destination);

    private static void CopyOrClear<T>(T[]? source, int offset, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (source is null) destination.Clear();
        else source.AsSpan(offset, destination.Length).CopyTo(destination);
    }

    /// <summary>W [rows, cols] → Wᵀ [cols, rows] in a rented buffer; with <paramref name="doubleG"/> = H (LSTM) the g
    /// columns [2H, 3H) are doubled, so the forward's single sigmoid yields tanh(g) = 2σ(2g) − 1.</summary>
    private static T[] TransposedWeight<T>(Tape<T> tape, T[] w, int rows, int cols, int doubleG)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var wt = tape.Rent(rows * cols);
        RecurrentKernels.Transpose<T>(w, rows, cols, wt);
        if (doubleG > 0)
        {
            for (var r = 0; r < cols; r++)
            {
                var seg = wt.AsSpan(r * rows + 2 * doubleG, doubleG);
                TensorPrimitives.Multiply(seg, T.One + T.One, seg);
            }
        }
        return wt;
    }

    /// <summary>
    /// C[m×n] = op(A)·op(B) + beta·C. The GEMM kernels are fastest with a wide n, so when n &lt; m and either n is
    /// narrow (&lt; 32) or the sum is long (k ≥ m, the weight gradients: k = T·N) the product is computed as
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ into rented scratch and added back transposed (measured: ∂W_hh of an LSTM with H = 128 over
    /// 1,600 rows takes 2.5 ms this way, 3.5 ms directly).
    /// </summary>
    private static void MatMul<T>(Tape<T> tape, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc, bool smallStep = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = Direct(m, n, k) ? default : tape.Rent(n * m).AsSpan(0, n * m);
        MatMulInto(scratch, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, smallStep);
    }

    /// <summary>Whether both per-step products (h·W_hhᵀ, ∂G·W_hh) take <see cref="RecurrentStepProduct"/> (H = 16).</summary>
    private static bool SmallStep<T>(int gh, int hidden) => RecurrentStepProduct.Takes<T>(gh, hidden) && RecurrentStepProduct.Takes<T>(hidden, gh);

    private static bool Direct(int m, int n, int k) => n >= m || (n >= NarrowColumns && k < m);

    /// <summary>As above, with the caller's scratch (≥ m·n; unused when the product is computed directly).</summary>
    private static void MatMulInto<T>(Span<T> scratch, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc, bool smallStep = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Direct(m, n, k))
        {
            Gemm.Run(transA, transB, m, n, k, T.One, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        var ct = scratch[..(n * m)];
        // The weight gradients of a step-kernel-sized stack (Hᵀ·∂G over all rows): on this thread, with the GEMM's bits.
        if (smallStep && transA && !transB && RecurrentStepProduct.TakesTransposedA<T>(n, m, k)) RecurrentStepProduct.RunTransposedA(n, m, k, b, ldb, a, lda, ct, m);
        else Gemm.Run(!transB, !transA, n, m, k, T.One, b, ldb, a, lda, T.Zero, ct, m);
        // Back in 32×32 blocks: row by row, ct was read 4·m bytes apart (2 KB for ∂W_hh at H = 128: 1.4 % of a step).
        const int block = 32;
        for (var i0 = 0; i0 < m; i0 += block)
        {
            for (var j0 = 0; j0 < n; j0 += block)
            {
                var (i1, j1) = (Math.Min(m, i0 + block), Math.Min(n, j0 + block));
                for (var i = i0; i < i1; i++)
                {
                    var row = c.Slice(i * ldc, n);
                    if (beta == T.Zero) for (var j = j0; j < j1; j++) row[j] = ct[j * m + i];
                    else for (var j = j0; j < j1; j++) row[j] = beta * row[j] + ct[j * m + i];
                }
            }
        }
    }

    /// <summary>The backward through time of the whole stack; one gradient per input of the node (x, weights, h0, c0).</summary>
    private static Tensor?[] Backward<T>(Tape<T> tape, Tensor x, IReadOnlyList<Tensor> weights, Tensor? h0, Tensor? c0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var spec = tape.Spec;
        var (layers, dirs, hidden, gh) = (spec.Layers, spec.Directions, spec.Hidden, spec.Gates * spec.Hidden);
        var (steps, n, rows) = (tape.Steps, tape.Batch, tape.Rows);
        var block = n * hidden;
        var width = dirs * hidden;
        var kind = spec.Kind;
        var gru = kind == CellKind.Gru;
        var p = spec.ParamsPerDirection;
        var grads = new Tensor?[1 + weights.Count + (h0 is null ? 0 : 1) + (c0 is null ? 0 : 1)];
        var h0Index = 1 + weights.Count;
        var c0Index = h0Index + (h0 is null ? 0 : 1);
        var dh0 = h0 is { RequiresGrad: true } ? Tensor.EmptyZeroed(h0.Shape, h0.DType) : null;
        var dc0 = c0 is { RequiresGrad: true } ? Tensor.EmptyZeroed(c0.Shape, c0.DType) : null;
        var gradHn = tape.GradHN?.Data<T>();
        var gradCn = tape.GradCN?.Data<T>();
        // Stacks whose per-step products take the step kernel (H = 16) keep their once-per-call products on this thread too.
        var smallStep = SmallStep<T>(gh, hidden);
        var dhCarry = tape.Rent(block);
        var dcCarry = tape.Rent(block);
        var stepScratch = tape.Rent(block); // the per-step product's transposed result (MatMul), rented once
        var dY = tape.GradY!.Data<T>();
        if (spec.BatchFirst)
        {
            var timeMajor = tape.Rent(rows * width);
            RecurrentKernels.SwapLeadingAxes<T>(dY, n, steps, width, timeMajor);
            dY = timeMajor;
        }

        for (var l = layers - 1; l >= 0; l--)
        {
            var inSize = tape.InSizes[l];
            var xl = tape.X[l];
            T[]? dx = l > 0 || x.RequiresGrad ? tape.Rent(rows * inSize) : null;
            for (var d = 0; d < dirs; d++)
            {
                var k = l * dirs + d;
                var wih = weights[k * p].Data<T>();
                var whh = weights[k * p + 1].Data<T>();
                var (g, s, c, tanhC, ghn) = (tape.G[k], tape.S[k], tape.C[k], tape.TanhC[k], tape.Ghn[k]);
                var dgh = gru ? tape.Rent(rows * gh) : g;
                CopyOrClear(gradHn, k * block, dhCarry.AsSpan(0, block));
                CopyOrClear(gradCn, k * block, dcCarry.AsSpan(0, block));

                // As the forward: each half of the batch rows walks back through all the steps in one job.
                var rowsState = new BackState<T>(tape, kind, hidden, width, d, g, s, c, tanhC, ghn, dgh, dY!, dhCarry, dcCarry, whh, stepScratch,
                    dh0 is not null);
                ForRows(n, gh * hidden, rowsState, static (st, b0, b1) => st.Walk(b0, b1), RecurrenceSplitWork);

                if (dh0 is not null) dhCarry.AsSpan(0, block).CopyTo(dh0.Data<T>().AsSpan(k * block));
                if (dc0 is not null) dcCarry.AsSpan(0, block).CopyTo(dc0.Data<T>().AsSpan(k * block));
                if (weights[k * p].RequiresGrad)
                {
                    var dw = Tensor.Empty(weights[k * p].Shape, x.DType);
                    MatMul(tape, true, false, gh, inSize, rows, g, gh, xl, inSize, T.Zero, dw.Data<T>(), inSize, smallStep);
                    grads[1 + k * p] = dw;
                }
                if (weights[k * p + 1].RequiresGrad)
                {
                    var dw = Tensor.Empty(weights[k * p + 1].Shape, x.DType);
                    MatMul(tape, true, false, gh, hidden, rows, dgh, gh, s, hidden, T.Zero, dw.Data<T>(), hidden, smallStep);
                    grads[1 + k * p + 1] = dw;
                }
                if (spec.Bias)
                {
                    var dbih = weights[k * p + 2].RequiresGrad ? ColumnSums(g, rows, gh, x.DType) : null;
                    grads[1 + k * p + 2] = dbih;
                    // Outside the GRU both biases add to the same pre-activations (dgh is g): one sum serves both (a
                    // copy from the storage pool, as the other gradients: Clone's fresh array was 2 KB a step at H = 128).
                    if (weights[k * p + 3].RequiresGrad)
                        grads[1 + k * p + 3] = dbih is not null && ReferenceEquals(dgh, g) ? PooledCopy(dbih) : ColumnSums(dgh, rows, gh, x.DType);
                }
                if (dx is not null)
                    MatMul(tape, false, false, rows, inSize, gh, g, gh, wih, inSize, d == 0 ? T.Zero : T.One, dx, inSize);
            }

            if (l > 0)
            {
                var dyBelow = dx!.AsSpan(0, rows * inSize);
                if (tape.Masks[l - 1] is { } mask) TensorPrimitives.Multiply(dyBelow, mask.AsSpan(0, rows * inSize), dyBelow);
                dY = dx;
            }
            else if (dx is not null)
            {
                var gx = Tensor.Empty(x.Shape, x.DType);
                if (spec.BatchFirst) RecurrentKernels.SwapLeadingAxes<T>(dx.AsSpan(0, rows * inSize), steps, n, inSize, gx.Data<T>());
                else dx.AsSpan(0, rows * inSize).CopyTo(gx.Data<T>());
                grads[0] = gx;
            }
        }

        if (h0 is not null) grads[h0Index] = dh0;
        if (c0 is not null) grads[c0Index] = dc0;
        return grads;
    }

    private static Tensor PooledCopy(Tensor t)
    {
        var copy = Tensor.Empty(t.Shape, t.DType);
        Array.Copy(t.Storage, copy.Storage, t.Numel);
        return copy;
    }

    private static Tensor ColumnSums<T>(T[] m, int rows, int cols, DType dtype)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = Tensor.EmptyZeroed(new Shape(cols), dtype);
        // Split by columns over the threads: each column is still summed row by row, so no bit depends on the split.
        ForRows(cols, rows, (m, rows, cols, sum.Data<T>()), static (st, c0, c1) =>
        {
            var s = st.Item4.AsSpan(c0, c1 - c0);
            if (typeof(T) == typeof(float) && RecurrentColumnSums.Supported)
            {
                // The same sums (rows ascending from zero), kept in registers instead of one call per row.
                RecurrentColumnSums.Run(MemoryMarshal.Cast<T, float>(st.m.AsSpan(0, st.rows * st.cols)), st.rows, st.cols, c0, c1,
                    MemoryMarshal.Cast<T, float>(s));
                return;
            }
            for (var r = 0; r < st.rows; r++) TensorPrimitives.Add(s, st.m.AsSpan(r * st.cols + c0, c1 - c0), s);
        }, ParallelPassWork);
        return sum;
    }
}
