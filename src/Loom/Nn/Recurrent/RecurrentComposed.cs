using static Loom.Functional;

namespace Loom.Nn;

/// <summary>
/// The reference implementation of the recurrent stack: the cells of <see cref="Functional"/> applied step by step,
/// so autograd derives the backward through time. Slow (a dozen nodes per step) but obviously right; the fused path
/// (<see cref="RecurrentFused"/>) is tested against it on the same inputs. Same arguments and results.
/// Padded steps: h ← m ⊙ h_new + (1 − m) ⊙ h with m = [t &lt; length], output m ⊙ h_new.
/// </summary>
internal static class RecurrentComposed
{
    public static (Tensor Output, Tensor HN, Tensor? CN) Forward(RecurrentShape spec, Tensor x, IReadOnlyList<Tensor> weights,
        Tensor? h0, Tensor? c0, int[]? lengths, double dropout, Generator? dropoutGenerator)
    {
        var timeAxis = spec.BatchFirst ? 1 : 0;
        var steps = x.Shape[timeAxis];
        var batch = x.Shape[1 - timeAxis];
        var p = spec.ParamsPerDirection;
        var lstm = spec.Kind == CellKind.Lstm;
        var finalH = new List<Tensor>();
        var finalC = new List<Tensor>();
        var input = x;
        for (var l = 0; l < spec.Layers; l++)
        {
            var outputs = new Tensor[spec.Directions];
            for (var d = 0; d < spec.Directions; d++)
            {
                var k = l * spec.Directions + d;
                var wih = weights[k * p];
                var whh = weights[k * p + 1];
                var bih = spec.Bias ? weights[k * p + 2] : null;
                var bhh = spec.Bias ? weights[k * p + 3] : null;
                var h = h0 is null ? Tensor.Zeros(new Shape(batch, spec.Hidden), x.DType) : Select(h0, 0, k);
                var c = !lstm ? null : c0 is null ? Tensor.Zeros(new Shape(batch, spec.Hidden), x.DType) : Select(c0, 0, k);
                var perStep = new Tensor[steps];
                for (var step = 0; step < steps; step++)
                {
                    var t = d == 0 ? step : steps - 1 - step;
                    var xt = Select(input, timeAxis, t);
                    Tensor hNew;
                    Tensor? cNew = null;
                    switch (spec.Kind)
                    {
                        case CellKind.Lstm: (hNew, cNew) = LstmCell(xt, h, c!, wih, whh, bih, bhh); break;
                        case CellKind.Gru: hNew = GruCell(xt, h, wih, whh, bih, bhh); break;
                        default: hNew = RnnCell(xt, h, wih, whh, bih, bhh, spec.Kind == CellKind.RnnRelu); break;
                    }
                    if (lengths is null)
                    {
                        perStep[t] = hNew;
                        h = hNew;
                        c = cNew;
                    }
                    else
                    {
                        var m = RecurrentChecks.StepMask(lengths, t, x.DType);
                        perStep[t] = Mul(m, hNew);
                        h = RecurrentChecks.Blend(m, hNew, h);
                        if (cNew is not null) c = RecurrentChecks.Blend(m, cNew, c!);
                    }
                }
                outputs[d] = Stack(perStep, timeAxis);
                finalH.Add(h);
                if (c is not null) finalC.Add(c);
            }
            var y = outputs.Length == 1 ? outputs[0] : Concat(outputs, -1);
            if (l < spec.Layers - 1 && dropout > 0)
                y = Mul(y, RecurrentFused.DropoutMask(y.Shape, y.DType, dropout, dropoutGenerator ?? Rng.Global));
            input = y;
        }
        return (input, Stack(finalH, 0), lstm ? Stack(finalC, 0) : null);
    }
}
