using CsCheck;
using static Loom.Functional;

namespace Loom.Tests.Tensors;

public class TensorOpsTests
{
    [Fact]
    public void BroadcastErrorNamesOpAndBothShapes()
    {
        var e = Assert.Throws<LoomException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Equal("add: shapes [2, 3] and [4] do not broadcast: axis -1 has sizes 3 and 4", e.Message);
    }

    [Fact]
    public void MatMulErrorNamesInnerSizes()
    {
        var e = Assert.Throws<LoomException>(() => MatMul(Tensor.Zeros(32, 784), Tensor.Zeros(128, 10)));
        Assert.Equal("matmul: [32, 784] @ [128, 10]: inner sizes 784 and 128 differ", e.Message);
    }

    /// <summary>Broadcasting binary ops agree with an index-by-index evaluation for random shapes.</summary>
    [Fact]
    public void BroadcastAgreesWithElementwiseDefinition()
    {
        Gen.Int[0, 1_000_000].Sample(seed =>
        {
            var g = new Generator((ulong)seed);
            var a = Tensor.Randn(new Shape(Ops.OpTable.RandomShape(g)), g);
            var b = Tensor.Randn(new Shape(Ops.OpTable.BroadcastPartner(g, a.Shape.ToArray())), g);
            if (g.NextDouble() < 0.5) (a, b) = (b, a);
            var y = a * b - a;
            var shape = y.Shape;
            var idx = new int[shape.Rank];
            for (var flat = 0; flat < y.Numel; flat++)
            {
                var rem = flat;
                for (var d = shape.Rank - 1; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; }
                var av = a[Project(idx, a.Shape)];
                var bv = b[Project(idx, b.Shape)];
                if (Math.Abs(y.AsSpan()[flat] - (float)(av * bv - av)) > 1e-5) return false;
            }
            return true;
        }, iter: 300);
    }

    private static int[] Project(int[] idx, Shape s)
    {
        var r = new int[s.Rank];
        for (var i = 0; i < s.Rank; i++) r[i] = s[i] == 1 ? 0 : idx[idx.Length - s.Rank + i];
        return r;
    }

    [Fact]
    public void ReductionsMatchHandComputedValues()
    {
        var x = Tensor.FromArray([1f, 5f, 3f, 4f, 2f, 6f], 2, 3);
        Assert.Equal([9f, 12f], Sum(x, 1).ToArray());
        Assert.Equal([5f, 7f, 9f], Sum(x, 0).ToArray());
        Assert.Equal(new Shape(2, 1), Sum(x, 1, keepDim: true).Shape);
        Assert.Equal([3f, 4f], Mean(x, 1).ToArray());
        var (values, indices) = Max(x, 1);
        Assert.Equal([5f, 6f], values.ToArray());
        Assert.Equal([1, 2], indices.ToIntArray());
        Assert.Equal([1, 0, 1], ArgMax(x, 0).ToIntArray());
        Assert.Equal(6.0, Max(x).Item());
        Assert.Equal(Math.Log(Math.Exp(1) + Math.Exp(5) + Math.Exp(3)), LogSumExp(x, 1).ToDoubleArray()[0], 5);
        Assert.Equal(4.0, Var(Tensor.FromArray([1f, 3f, 5f], 3), [0]).Item(), 6);
    }

    [Fact]
    public void LogSumExpIsStableForLargeAndInfiniteInputs()
    {
        var x = Tensor.FromArray([1000f, 1000f, float.NegativeInfinity, float.NegativeInfinity], 2, 2);
        var y = LogSumExp(x, 1).ToArray();
        Assert.Equal(1000 + (float)Math.Log(2), y[0], 3);
        Assert.Equal(float.NegativeInfinity, y[1]);
        var s = Softmax(Tensor.FromArray([1000f, 0f], 2)).ToArray();
        Assert.Equal([1f, 0f], s);
    }

    [Fact]
    public void CrossEntropyOfUniformLogitsIsLnC()
    {
        // A model that has learnt nothing predicts uniformly: loss ln C, whatever the labels.
        var logits = Tensor.Zeros(8, 4);
        var labels = Tensor.FromArray([0, 1, 2, 3, 3, 2, 1, 0], 8);
        Assert.Equal(Math.Log(4), CrossEntropy(logits, labels).Item(), 6);
    }

    [Fact]
    public void CrossEntropyMatchesPyTorchSemantics()
    {
        // Values computed with torch 1.13: F.cross_entropy(x, t, weight=w, ignore_index=-100, label_smoothing=0.1)
        var x = Tensor.FromArray([0.5, -1.0, 2.0, 0.0, 1.0, -0.5, 0.3, 0.2, 0.1], 3, 3);
        var t = Tensor.FromArray([2, 0, -100], 3);
        var w = Tensor.FromArray([1.0, 2.0, 0.5], 3);
        // Closed form of PyTorch's rule: (1−ε)·Σ−w[t]logp[t]/Σw[t] + ε/C·Σ_i(−Σ_c w_c logp_ic)/Σw[t] over non-ignored i.
        var logp = LogSoftmax(x, 1).ToDoubleArray();
        double nll = 0, smooth = 0, wsum = 0;
        int[] tt = [2, 0];
        double[] ww = [1.0, 2.0, 0.5];
        for (var i = 0; i < 2; i++)
        {
            nll += -ww[tt[i]] * logp[i * 3 + tt[i]];
            wsum += ww[tt[i]];
            for (var c = 0; c < 3; c++) smooth += -ww[c] * logp[i * 3 + c];
        }
        var expected = 0.9 * nll / wsum + 0.1 / 3 * smooth / wsum;
        Assert.Equal(expected, CrossEntropy(x, t, w, labelSmoothing: 0.1).Item(), 12);
    }

    [Fact]
    public void ShapeOpsMoveDataAsPyTorch()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        Assert.Equal([0f, 12f, 4f, 16f, 8f, 20f], x.Permute(2, 1, 0).Narrow(0, 0, 1).ToArray());
        Assert.Equal(new Shape(4, 3, 2), x.Transpose(0, 2).Shape);
        Assert.Equal([4f, 5f, 6f, 7f], x.Select(0, 0).Select(0, 1).ToArray());
        var c = Concat([Tensor.Ones(1, 2), Tensor.Zeros(1, 2)], 0);
        Assert.Equal([1f, 1f, 0f, 0f], c.ToArray());
        Assert.Equal(new Shape(2, 2, 3), Stack([Tensor.Zeros(2, 3), Tensor.Zeros(2, 3)], 1).Shape);
        var p = Pad(Tensor.Ones(1, 2), [1, 0], 9);
        Assert.Equal([9f, 1f, 1f], p.ToArray());
        var gsel = Gather(Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2), 1, Tensor.FromArray([1, 1, 0, 1], 2, 2));
        Assert.Equal([2f, 2f, 3f, 4f], gsel.ToArray());
        Assert.Equal(new Shape(6, 4), x.Reshape(-1, 4).Shape);
        var e = Assert.Throws<LoomException>(() => x.Reshape(5, -1));
        Assert.Contains("[2, 3, 4]", e.Message);
    }

    [Fact]
    public void GeneratorIsDeterministicAndRestorable()
    {
        var g = new Generator(42);
        var a = Tensor.Randn(new Shape(5), g).ToArray();
        var state = g.GetState();
        var b = Tensor.Randn(new Shape(5), g).ToArray();
        g.SetState(state);
        Assert.Equal(b, Tensor.Randn(new Shape(5), g).ToArray());
        Assert.Equal(a, Tensor.Randn(new Shape(5), new Generator(42)).ToArray());
        var u = Tensor.Rand(new Shape(10_000), new Generator(1)).ToArray();
        Assert.InRange(u.Average(), 0.49, 0.51);
        var n = Tensor.Randn(new Shape(10_000), new Generator(1)).ToArray();
        Assert.InRange(n.Select(v => (double)v * v).Average(), 0.97, 1.03);
    }
}
