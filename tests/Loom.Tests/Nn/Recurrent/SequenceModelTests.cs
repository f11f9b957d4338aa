using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>The seed's gated RNN and AttentionRNN(k): equations, state dict, errors.</summary>
public class SequenceModelTests
{
    [Fact]
    public void GatedRnnFollowsTheSheetsEquations()
    {
        var model = new GatedRnn(2, 3, generator: new Generator(1));
        model.To(DType.Float64);
        var x = Tensor.Randn(new Shape(4, 1, 2), new Generator(2), DType.Float64);
        var output = model.Forward(x).ToDoubleArray();
        // h[t] = c ⊙ h[t−1] + (1 − c) ⊙ W_x x[t], c = σ(W_c x[t] + W_h h[t−1]), h[0] = 0, by hand.
        var (wc, wh, wx) = (model.WeightC.ToDoubleArray(), model.WeightH.ToDoubleArray(), model.WeightX.ToDoubleArray());
        var h = new double[3];
        var xs = x.ToDoubleArray();
        for (var t = 0; t < 4; t++)
        {
            var next = new double[3];
            for (var i = 0; i < 3; i++)
            {
                double zc = 0, cand = 0;
                for (var j = 0; j < 2; j++)
                {
                    zc += wc[i * 2 + j] * xs[t * 2 + j];
                    cand += wx[i * 2 + j] * xs[t * 2 + j];
                }
                for (var j = 0; j < 3; j++) zc += wh[i * 3 + j] * h[j];
                var c = 1 / (1 + Math.Exp(-zc));
                next[i] = c * h[i] + (1 - c) * cand;
                Assert.Equal(next[i], output[t * 3 + i], 12);
            }
            h = next;
        }
        Assert.Equal(["weight_c", "weight_h", "weight_x"], model.StateDict().Keys);
    }

    [Fact]
    public void AttentionRnnHasOneWeightSetPerSourceAndSharesThemForInfinity()
    {
        Assert.Equal(["weight_q0", "weight_k0", "weight_v0", "weight_q1", "weight_k1", "weight_v1", "weight_q2", "weight_k2", "weight_v2"],
            new AttentionRnn(4, 3, 2).StateDict().Keys);
        var inf = new AttentionRnn(4, 3, AttentionRnn.Infinite);
        Assert.Equal(6, inf.StateDict().Count);
        Assert.Same(inf.Weights(1).Q, inf.Weights(7).Q);
        Assert.Equal(new Shape(3, 4), inf.Weights(0).K.Shape);
        Assert.Equal("AttentionRNN(4, 3, k=inf)", inf.ToString());
    }

    [Fact]
    public void AttentionRnnOneAttendsToTheInputAndTheLastState()
    {
        // With k = 1 and h[0] = 0 the first step weighs x (score q₀ᵀk₀) against the zero state (score 0).
        var model = new AttentionRnn(2, 2, 1, generator: new Generator(5));
        model.To(DType.Float64);
        var x = Tensor.Randn(new Shape(1, 1, 2), new Generator(6), DType.Float64);
        var (q, k, v) = model.Weights(0);
        var x0 = Functional.Reshape(x, 1, 2);
        var w0 = Functional.Sum(Functional.Mul(Functional.Linear(x0, q), Functional.Linear(x0, k))).Item();
        var a0 = Math.Exp(w0) / (Math.Exp(w0) + 1);
        var expected = Functional.Mul(Functional.Linear(x0, v), a0).ToDoubleArray();
        var actual = model.Forward(x).ToDoubleArray();
        Assert.Equal(expected[0], actual[0], 12);
        Assert.Equal(expected[1], actual[1], 12);
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        Assert.Equal("attention_rnn: k must be at least 1 (or AttentionRnn.Infinite for k = ∞), found 0",
            Assert.Throws<LoomException>(() => new AttentionRnn(4, 3, 0)).Message);
        Assert.Equal("gated_rnn: hidden_size must be positive, found 0", Assert.Throws<LoomException>(() => new GatedRnn(4, 0)).Message);
        Assert.Equal("attention_rnn: hidden_size must be positive, found -2", Assert.Throws<LoomException>(() => new AttentionRnn(4, -2, 1)).Message);
        var gated = new GatedRnn(4, 3, batchFirst: true);
        Assert.Equal("gated_rnn: input [2, 5, 6] has 6 features in its last axis, input_size is 4",
            Assert.Throws<LoomException>(() => gated.Forward(Tensor.Zeros(2, 5, 6))).Message);
        Assert.Equal("gated_rnn: expected an input of rank 3, [N, T, 4] (batch_first), found [5, 4] (rank 2)",
            Assert.Throws<LoomException>(() => gated.Forward(Tensor.Zeros(5, 4))).Message);
        Assert.Equal("gated_rnn: 1 lengths given for a batch of 2 sequences",
            Assert.Throws<LoomException>(() => gated.Forward(Tensor.Zeros(2, 5, 4), null, [3])).Message);
        Assert.Equal("attention_rnn: a step's input must be [N, 4], found [2, 5]",
            Assert.Throws<LoomException>(() => new AttentionRnn(4, 3, 2).Step(Tensor.Zeros(2, 5), new AttentionRnn(4, 3, 2).InitialState(2))).Message);
    }
}
