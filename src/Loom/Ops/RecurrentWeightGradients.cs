using System.Numerics;
using Loom.Kernels;

namespace Loom;

/// <summary>
/// The weight gradients of a small recurrent layer (∂W_ih = ∂Gᵀ·X and ∂W_hh = ∂Gₕᵀ·H_prev over all T·N rows; at
/// H = 16 on the calling thread, 15 % of an LSTM training step) computed WHILE the backward walks through time, by the
/// second thread: the rows of a step are final once the walk has passed it, so each k-slice of the product can start
/// as soon as the walk has passed its rows. The walk itself stays on one thread (its steps depend on each other), and
/// at H = 16 the second thread had nothing else to do.
/// The slices are exactly those of <see cref="RecurrentStepProduct.RunTransposedA{T}"/> over all rows
/// (<see cref="GemmF32.SliceDepth"/>): each computed from zero, then added in ascending order (slice 0 stored, each
/// later one added as the kernel adds it), so the result has the bits of the one-call product, whichever thread
/// computed which slice and whether a second thread ran at all.
/// </summary>
/// <remarks>
/// Used as the two parts of one <see cref="GemmTeam.For"/> job: part 0 walks the steps (calling
/// <see cref="StepDone"/> after each), then takes the slices nobody has claimed; part 1 takes slices in the order the
/// walk finishes them, waiting for each. A part-1 thread never waits on itself: a thread claims part 0 before part 1,
/// and a lone thread runs part 0 to the end first. If the walk fails, <see cref="Abort"/> releases the waiter.
/// </remarks>
internal sealed class RecurrentWeightGradients<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _steps, _batch, _gh, _inSize, _hidden, _depth, _slices, _rows;
    private readonly bool _reverse;
    private readonly T[] _g, _dgh;
    private readonly T[]? _x, _s;
    private readonly T[]? _ih, _hh; // per slice: inSize×gh and hidden×gh partial products (transposed gradients)
    private readonly int[] _claimed;
    private int _done;
    private int _aborted;

    /// <summary>
    /// Whether the overlap applies: two threads, and each wanted product one that <see cref="RecurrentStepProduct"/>
    /// computes transposed on the calling thread (the fused op's small-step rule).
    /// </summary>
    public static bool Takes(int rows, int gh, int inSize, int hidden, bool ih, bool hh) =>
        Threads.Count > 1 && (ih || hh)
        && (!ih || (!RecurrentFused.Direct(gh, inSize, rows) && RecurrentStepProduct.TakesTransposedA<T>(inSize, gh, rows)))
        && (!hh || (!RecurrentFused.Direct(gh, hidden, rows) && RecurrentStepProduct.TakesTransposedA<T>(hidden, gh, rows)));


    /// <param name="steps">T.</param>
    /// <param name="batch">N (rows per step).</param>
    /// <param name="reverse">Whether the walk runs t = 0 … T−1 (the reverse direction) instead of T−1 … 0.</param>
    /// <param name="g">∂ℓ/∂(input pre-activations), [T·N, gh].</param>
    /// <param name="gh">Gate columns: gates · H.</param>
    /// <param name="x">The layer's input rows [T·N, inSize]; null when ∂W_ih is not wanted.</param>
    /// <param name="inSize">The layer's input size.</param>
    /// <param name="dgh">∂ℓ/∂(recurrent pre-activations), [T·N, gh] (g itself outside the GRU).</param>
    /// <param name="s">h_prev per row [T·N, hidden]; null when ∂W_hh is not wanted.</param>
    /// <param name="hidden">H.</param>
    /// <param name="rent">Scratch for the partial products (the fused op's rented arrays, returned after the backward).</param>
    public RecurrentWeightGradients(int steps, int batch, bool reverse, T[] g, int gh, T[]? x, int inSize, T[] dgh, T[]? s, int hidden, Func<int, T[]> rent)
    {
        (_steps, _batch, _reverse, _g, _gh, _x, _inSize, _dgh, _s, _hidden) = (steps, batch, reverse, g, gh, x, inSize, dgh, s, hidden);
        _rows = steps * batch;
        _depth = GemmF32.SliceDepth(_rows);
        _slices = (_rows + _depth - 1) / _depth;
        _ih = x is null ? null : rent(_slices * inSize * gh);
        _hh = s is null ? null : rent(_slices * hidden * gh);
        _claimed = new int[_slices];
    }

    /// <summary>The walk has finished one more step (called by part 0 only, in walk order).</summary>
    public void StepDone() => Volatile.Write(ref _done, _done + 1);

    /// <summary>The walk stopped early (an exception): the waiting part gives up.</summary>
    public void Abort() => Volatile.Write(ref _aborted, 1);

    /// <summary>
    /// Part 1: claims the slices in the order the walk completes them, waiting for each; part 0 after its walk: claims
    /// what is left, last-completed first (all of it ready by then).
    /// </summary>
    public void TakeSlices(bool afterWalk)
    {
        for (var q = 0; q < _slices; q++)
        {
            // The walk T−1 … 0 completes the highest slice first; the reverse walk the lowest.
            var first = _reverse ? q : _slices - 1 - q;
            var i = afterWalk ? _slices - 1 - first : first;
            if (Volatile.Read(ref _claimed[i]) != 0) continue;
            if (!afterWalk && !WaitReady(i)) return;
            if (Interlocked.CompareExchange(ref _claimed[i], 1, 0) == 0) Slice(i);
        }
    }

    /// <summary>
    /// After the job: adds the slices in ascending order and writes ∂W_ih [gh, inSize] and ∂W_hh [gh, hidden] (as the
    /// one-call product's transposed result is written back).
    /// </summary>
    public void Finish(Span<T> dwIh, Span<T> dwHh)
    {
        if (_ih is not null) Combine(_ih, _inSize, dwIh);
        if (_hh is not null) Combine(_hh, _hidden, dwHh);
    }

    private void Combine(T[] parts, int cols, Span<T> dw)
    {
        var size = cols * _gh;
        var sum = parts.AsSpan(0, size);
        for (var i = 1; i < _slices; i++)
        {
            var part = parts.AsSpan(i * size, size);
            for (var e = 0; e < size; e++) sum[e] = part[e] + sum[e]; // as the kernel adds a later slice: acc + C
        }
        // sum is [cols, gh] (the transposed product); dw is [gh, cols].
        for (var r = 0; r < _gh; r++)
            for (var j = 0; j < cols; j++) dw[r * cols + j] = sum[j * _gh + r];
    }

    private bool WaitReady(int i)
    {
        var (r0, r1) = (i * _depth, Math.Min(_rows, (i + 1) * _depth));
        // Steps [r0 / N, (r1 − 1) / N] must be done: the walk T−1 … 0 has done [T − done, T), the reverse one [0, done).
        var need = _reverse ? (r1 - 1) / _batch + 1 : _steps - r0 / _batch;
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _done) < need)
        {
            if (Volatile.Read(ref _aborted) != 0) return false;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        return true;
    }

    private void Slice(int i)
    {
        var r0 = i * _depth;
        var kc = Math.Min(_depth, _rows - r0);
        var g = _g.AsSpan(r0 * _gh, kc * _gh);
        if (_x is not null)
        {
            RecurrentStepProduct.RunTransposedA<T>(_inSize, _gh, kc, _x.AsSpan(r0 * _inSize, kc * _inSize), _inSize, g, _gh,
                _ih!.AsSpan(i * _inSize * _gh, _inSize * _gh), _gh);
        }
        if (_s is not null)
        {
            RecurrentStepProduct.RunTransposedA<T>(_hidden, _gh, kc, _s.AsSpan(r0 * _hidden, kc * _hidden), _hidden, _dgh.AsSpan(r0 * _gh, kc * _gh),
                _gh, _hh!.AsSpan(i * _hidden * _gh, _hidden * _gh), _gh);
        }
    }
}
