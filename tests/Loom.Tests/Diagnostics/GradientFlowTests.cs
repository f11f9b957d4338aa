using System.Text.Json;
using Loom.Data.Sequences;
using Loom.Diagnostics;
using Loom.Nn;

namespace Loom.Tests.Diagnostics;

public class GradientFlowTests(ITestOutputHelper output)
{
    /// <summary>∂h[t]/∂h[t−1] = diag(c) + diag(h[t−1] − W_x x)·diag(c ⊙ (1 − c))·W_h for the seed's gated RNN.</summary>
    [Fact]
    public void GatedRnnJacobianMatchesTheClosedForm()
    {
        const int n = 3, input = 2, h = 4;
        var model = new GatedRnn(input, h, generator: new Generator(1));
        model.To(DType.Float64);
        var g = new Generator(2);
        var x = Tensor.Randn(new Shape(n, input), g, DType.Float64);
        var hPrev = Tensor.Randn(new Shape(n, h), g, DType.Float64);
        var jacobians = GradientFlow.StepJacobians(model, x, new CellState(hPrev));

        var (wc, wh, wx) = (Matrix(model.WeightC), Matrix(model.WeightH), Matrix(model.WeightX));
        for (var s = 0; s < n; s++)
        {
            var xs = Row(x, s);
            var hs = Row(hPrev, s);
            var c = Add(MatVec(wc, xs), MatVec(wh, hs)).Select(z => 1 / (1 + Math.Exp(-z))).ToArray();
            var candidate = MatVec(wx, xs);
            for (var i = 0; i < h; i++)
                for (var k = 0; k < h; k++)
                {
                    var expected = (i == k ? c[i] : 0) + (hs[i] - candidate[i]) * c[i] * (1 - c[i]) * wh[i, k];
                    Assert.Equal(expected, jacobians[s][i, k], 12);
                }
        }
    }

    /// <summary>∂h[t]/∂h[t−1] = a₁(V₁ + (v₁ − h[t]) h[t−1]ᵀ(Q₁ᵀK₁ + K₁ᵀQ₁)) for AttentionRNN(2), h[t−2] held fixed.</summary>
    [Fact]
    public void AttentionRnnTwoJacobianMatchesTheClosedForm()
    {
        const int n = 3, input = 2, h = 3;
        var model = new AttentionRnn(input, h, 2, generator: new Generator(3));
        model.To(DType.Float64);
        var g = new Generator(4);
        var x = Tensor.Randn(new Shape(n, input), g, DType.Float64);
        var h1 = Tensor.Randn(new Shape(n, h), g, DType.Float64);     // h[t−1]
        var h2 = Tensor.Randn(new Shape(n, h), g, DType.Float64);     // h[t−2]
        var state = new CellState(h1, Past: [h2]);
        var jacobians = GradientFlow.StepJacobians(model, x, state);
        var ht = model.Step(x, state).H;

        var w = Enumerable.Range(0, 3).Select(i => model.Weights(i)).Select(t => (Q: Matrix(t.Q), K: Matrix(t.K), V: Matrix(t.V))).ToArray();
        for (var s = 0; s < n; s++)
        {
            var sources = new[] { Row(x, s), Row(h1, s), Row(h2, s) };
            var scores = sources.Select((src, i) => Dot(MatVec(w[i].Q, src), MatVec(w[i].K, src))).ToArray();
            var z = scores.Sum(Math.Exp);
            var a1 = Math.Exp(scores[1]) / z;
            var v1 = MatVec(w[1].V, sources[1]);
            var hNow = Row(ht, s);
            // u = h[t−1]ᵀ(Q₁ᵀK₁ + K₁ᵀQ₁) = (Q₁ᵀK₁ + K₁ᵀQ₁)ᵀ h[t−1] (the matrix is symmetric).
            var sym = Add(MatMul(Transpose(w[1].Q), w[1].K), MatMul(Transpose(w[1].K), w[1].Q));
            var u = MatVec(sym, sources[1]);
            for (var i = 0; i < h; i++)
                for (var k = 0; k < h; k++)
                    Assert.Equal(a1 * (w[1].V[i, k] + (v1[i] - hNow[i]) * u[k]), jacobians[s][i, k], 12);
        }
    }

    /// <summary>The autograd Jacobian of an LSTM step agrees with central differences (c[t−1] held fixed).</summary>
    [Fact]
    public void LstmJacobianMatchesFiniteDifferences()
    {
        var lstm = new Lstm(3, 4, new Generator(5));
        lstm.To(DType.Float64);
        var g = new Generator(6);
        var x = Tensor.Randn(new Shape(2, 3), g, DType.Float64);
        var state = new CellState(Tensor.Randn(new Shape(2, 4), g, DType.Float64), Tensor.Randn(new Shape(2, 4), g, DType.Float64));
        var jacobians = GradientFlow.StepJacobians(lstm, x, state);
        using var _ = Loom.Autograd.NoGrad();
        const double eps = 1e-6;
        for (var k = 0; k < 4; k++)
        {
            var plus = state.H.Clone();
            var minus = state.H.Clone();
            for (var s = 0; s < 2; s++)
            {
                plus.AsDoubleSpan()[s * 4 + k] += eps;
                minus.AsDoubleSpan()[s * 4 + k] -= eps;
            }
            var hp = lstm.Step(x, state with { H = plus }).H.ToDoubleArray();
            var hm = lstm.Step(x, state with { H = minus }).H.ToDoubleArray();
            for (var s = 0; s < 2; s++)
                for (var i = 0; i < 4; i++)
                    Assert.Equal((hp[s * 4 + i] - hm[s * 4 + i]) / (2 * eps), jacobians[s][i, k], 8);
        }
    }

    [Fact]
    public void SpectralNormIsTheLargestSingularValue()
    {
        Assert.Equal(Math.Sqrt(45), GradientFlow.SpectralNorm(new double[,] { { 3, 0 }, { 4, 5 } }), 12);
        Assert.Equal(2, GradientFlow.SpectralNorm(new double[,] { { 0, -2, 0 }, { 1, 0, 0 }, { 0, 0, 0.5 } }), 12);
        var g = new Generator(7);
        var m = new double[20, 20];
        for (var i = 0; i < 20; i++) for (var j = 0; j < 20; j++) m[i, j] = g.NextNormal();
        var ata = new double[20, 20];
        for (var i = 0; i < 20; i++) for (var j = 0; j < 20; j++) for (var r = 0; r < 20; r++) ata[i, j] += m[r, i] * m[r, j];
        Assert.Equal(Math.Sqrt(SymmetricEigen.LargestByPowerIteration(ata, 20000)), GradientFlow.SpectralNorm(m), 8);
    }

    /// <summary>
    /// An untrained tanh RNN on temporal-order "normal" (H = 16, batch 64): the gradient reaching the first step is a
    /// vanishing fraction of the last one's (PyTorch measured 9e-12), shrinking step after step. (The spectral norms of
    /// the one-step Jacobians are about 1.05: a bound on the worst direction, not the rate the gradient actually decays.)
    /// </summary>
    [Fact]
    public void UntrainedTanhRnnGradientVanishesOnTemporalOrder()
    {
        var task = new TemporalOrder(TemporalOrderLevel.Normal, seed: 1, batchSize: 64);
        var batch = task.TestBatches()[0];
        var rnn = new Rnn(8, 16, generator: new Generator(1));
        var head = new Linear(16, 4, generator: new Generator(2));
        var report = GradientFlow.Measure(rnn, head, batch);
        output.WriteLine(report.ToJson());
        Assert.Equal(40, report.Steps);
        Assert.Equal(40, report.GradNorms.Length);
        Assert.True(report.FirstToLast < 1e-6, $"first_to_last = {report.FirstToLast:E2}");
        Assert.Equal(report.GradNorms[0] / report.GradNorms[^1], report.FirstToLast);
        var growing = Enumerable.Range(0, 39).Count(t => report.GradNorms[t] < report.GradNorms[t + 1]);
        Assert.True(growing >= 36, $"‖∂ℓ/∂h[t]‖ grows towards the last step at only {growing} of 39 steps");
        Assert.All(report.JacobianNorms!, s => Assert.InRange(s, 0.5, 1.5));
        Assert.All(rnn.Parameters().Concat(head.Parameters()), p => Assert.Null(p.Grad));
        Assert.All(rnn.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.InRange(report.Loss, Math.Log(4) - 0.3, Math.Log(4) + 0.3);   // a classifier that knows nothing: ln 4

        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal("RNN", json.RootElement.GetProperty("model").GetString());
        Assert.Equal(40, json.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(40, json.RootElement.GetProperty("grad_norms").GetArrayLength());
        Assert.Equal(report.FirstToLast, json.RootElement.GetProperty("first_to_last").GetDouble());
    }

    [Fact]
    public void EveryModelCanBeMeasured()
    {
        var task = new TemporalOrder(TemporalOrderLevel.Easy, seed: 2, batchSize: 16);
        var batch = task.TestBatches()[0];
        IRecurrentCell[] models =
        [
            new Lstm(8, 6, new Generator(1)), new Gru(8, 6, new Generator(1)), new GatedRnn(8, 6, generator: new Generator(1)),
            new AttentionRnn(8, 6, 2, generator: new Generator(1)), new AttentionRnn(8, 6, AttentionRnn.Infinite, generator: new Generator(1)),
        ];
        foreach (var model in models)
        {
            var report = GradientFlow.Measure(model, new Linear(6, 4, generator: new Generator(3)), batch, new GradientFlowOptions { JacobianSamples = 4 });
            output.WriteLine($"{report.Model}: first_to_last {report.FirstToLast:E2}, mean ‖J‖ {report.JacobianNorms!.Average():F3}");
            Assert.Equal(8, report.Steps);
            Assert.All(report.GradNorms, v => Assert.True(v > 0 && double.IsFinite(v), $"{report.Model}: {v}"));
        }
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        var rnn = new Rnn(8, 4);
        var head = new Linear(4, 4);
        var e = Assert.Throws<LoomException>(() => GradientFlow.Measure(rnn, head.Forward, Tensor.Zeros(2, 5, 7), Tensor.FromArray(new[] { 0, 1 }, 2)));
        Assert.Equal("gradflow: inputs must be [B, T, 8] (batch-first), found [2, 5, 7]", e.Message);
        var echo = new Echo(2, 1).TestBatches()[0];
        Assert.Contains("variable lengths", Assert.Throws<LoomException>(() => GradientFlow.Measure(new Rnn(27, 4), new Linear(4, 27), echo)).Message);
        Assert.Contains("stepping one cell needs num_layers = 1",
            Assert.Throws<LoomException>(() => GradientFlow.Measure(new Lstm(new RecurrentOptions(8, 4) { NumLayers = 2 }), head, new TemporalOrder("easy", 1).TestBatches()[0])).Message);
    }

    private static double[,] Matrix(Tensor t)
    {
        var (r, c) = (t.Shape[0], t.Shape[1]);
        var v = t.ToDoubleArray();
        var m = new double[r, c];
        for (var i = 0; i < r; i++) for (var j = 0; j < c; j++) m[i, j] = v[i * c + j];
        return m;
    }

    private static double[] Row(Tensor t, int row) => t.ToDoubleArray().Skip(row * t.Shape[1]).Take(t.Shape[1]).ToArray();

    private static double[] MatVec(double[,] m, double[] v) =>
        Enumerable.Range(0, m.GetLength(0)).Select(i => Enumerable.Range(0, v.Length).Sum(j => m[i, j] * v[j])).ToArray();

    private static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double[,] Transpose(double[,] m)
    {
        var t = new double[m.GetLength(1), m.GetLength(0)];
        for (var i = 0; i < m.GetLength(0); i++) for (var j = 0; j < m.GetLength(1); j++) t[j, i] = m[i, j];
        return t;
    }

    private static double[,] MatMul(double[,] a, double[,] b)
    {
        var c = new double[a.GetLength(0), b.GetLength(1)];
        for (var i = 0; i < a.GetLength(0); i++)
            for (var j = 0; j < b.GetLength(1); j++)
                for (var k = 0; k < a.GetLength(1); k++) c[i, j] += a[i, k] * b[k, j];
        return c;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var c = new double[a.GetLength(0), a.GetLength(1)];
        for (var i = 0; i < a.GetLength(0); i++) for (var j = 0; j < a.GetLength(1); j++) c[i, j] = a[i, j] + b[i, j];
        return c;
    }
}
