using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

public class RecurrentLayerTests
{
    [Fact]
    public void StateDictHasPyTorchKeysShapesAndOrder()
    {
        var lstm = new Lstm(new RecurrentOptions(5, 3) { NumLayers = 2, Bidirectional = true });
        var state = lstm.StateDict();
        Assert.Equal(
        [
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        ], state.Keys);
        Assert.Equal(new Shape(12, 5), state["weight_ih_l0"].Shape);
        Assert.Equal(new Shape(12, 3), state["weight_hh_l0"].Shape);
        Assert.Equal(new Shape(12, 6), state["weight_ih_l1_reverse"].Shape);   // layer 1 reads both directions
        Assert.Equal(new Shape(12), state["bias_hh_l1"].Shape);
        Assert.Equal(new Shape(9, 5), new Gru(5, 3).StateDict()["weight_ih_l0"].Shape);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], new Rnn(new RecurrentOptions(5, 3) { Bias = false }).StateDict().Keys);
        Assert.Equal("LSTM(5, 3, num_layers=2, bidirectional=True)", lstm.ToString());
        Assert.Equal("RNN(5, 3, nonlinearity='relu', batch_first=True)",
            new Rnn(new RecurrentOptions(5, 3) { BatchFirst = true }, RnnNonlinearity.Relu).ToString());
    }

    [Fact]
    public void InitialisationIsUniformWithinOneOverSqrtHidden()
    {
        var gru = new Gru(new RecurrentOptions(10, 25) { NumLayers = 2 }, new Generator(1));
        var bound = 1 / Math.Sqrt(25);
        var all = gru.Parameters().SelectMany(p => p.ToArray()).ToArray();
        Assert.All(all, v => Assert.InRange(v, -bound, bound));
        var variance = all.Select(v => (double)v * v).Average();
        Assert.InRange(variance, bound * bound / 3 * 0.95, bound * bound / 3 * 1.05);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ShapesFollowPyTorch(bool batchFirst, bool bidirectional)
    {
        var lstm = new Lstm(new RecurrentOptions(4, 6) { NumLayers = 3, BatchFirst = batchFirst, Bidirectional = bidirectional });
        var x = batchFirst ? Tensor.Zeros(2, 7, 4) : Tensor.Zeros(7, 2, 4);
        var r = lstm.Forward(x, null, null);
        var d = bidirectional ? 2 : 1;
        Assert.Equal(batchFirst ? new Shape(2, 7, 6 * d) : new Shape(7, 2, 6 * d), r.Output.Shape);
        Assert.Equal(new Shape(3 * d, 2, 6), r.H.Shape);
        Assert.Equal(new Shape(3 * d, 2, 6), r.C!.Shape);
        Assert.Equal(r.Output.Shape, lstm.Forward(x).Shape);
    }

    /// <summary>Padding changes nothing: a padded sequence gives the same outputs, final state and gradients as alone.</summary>
    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn_tanh")]
    public void PaddedStepsDoNotChangeStatesOrGradients(string mode)
    {
        var c = new RecurrentCase(mode, 3, 4, 2, true, true, true, 6, 2, false, false, 0);
        var layer = c.Build(11);
        var g = new Generator(12);
        var x = Tensor.Randn(new Shape(2, 6, 3), g, DType.Float64);
        var padded = x.Clone();
        var pd = padded.AsDoubleSpan();
        for (var t = 4; t < 6; t++) for (var f = 0; f < 3; f++) pd[(1 * 6 + t) * 3 + f] = 1e3;   // garbage after the end
        padded.RequiresGrad_();
        var full = layer.Forward(padded, null, [6, 4]);
        Functional.Sum(Functional.Mul(full.Output, full.Output)).Add(Functional.Sum(full.H)).Backward();
        var paddedGrads = layer.Parameters().Select(p => p.Grad!.Clone()).ToList();
        layer.ZeroGrad();

        var alone = Functional.Narrow(Functional.Narrow(x, 0, 1, 1), 1, 0, 4).RequiresGrad_();   // sequence 1, 4 steps
        var first = Functional.Narrow(x, 0, 0, 1);
        var r0 = layer.Forward(first, null, null);
        var r1 = layer.Forward(alone, null, null);
        Functional.Sum(Functional.Mul(r0.Output, r0.Output)).Add(Functional.Sum(r0.H))
            .Add(Functional.Sum(Functional.Mul(r1.Output, r1.Output))).Add(Functional.Sum(r1.H)).Backward();

        RecurrentAssert.Close(Functional.Narrow(Functional.Narrow(full.Output, 0, 1, 1), 1, 0, 4), r1.Output, 1e-12, "outputs");
        Assert.All(Functional.Narrow(Functional.Narrow(full.Output, 0, 1, 1), 1, 4, 2).ToDoubleArray(), v => Assert.Equal(0, v));
        RecurrentAssert.Close(Functional.Narrow(full.H, 1, 1, 1), r1.H, 1e-12, "final state");
        var separate = layer.Parameters().Select(p => p.Grad!).ToList();
        for (var i = 0; i < separate.Count; i++) RecurrentAssert.Close(paddedGrads[i], separate[i], 1e-10, $"grad {i}");
        Assert.All(Functional.Narrow(Functional.Narrow(padded.Grad!, 0, 1, 1), 1, 4, 2).ToDoubleArray(), v => Assert.Equal(0, v));
        RecurrentAssert.Close(Functional.Narrow(Functional.Narrow(padded.Grad!, 0, 1, 1), 1, 0, 4), alone.Grad, 1e-10, "grad x");
    }

    [Fact]
    public void StepByStepEqualsTheWholeSequence()
    {
        foreach (var mode in new[] { "lstm", "gru", "rnn_relu" })
        {
            var layer = new RecurrentCase(mode, 3, 4, 1, false, false, true, 5, 2, false, false, 0).Build(13);
            var x = Tensor.Randn(new Shape(5, 2, 3), new Generator(14), DType.Float64);
            var whole = layer.Forward(x, null, null);
            var state = layer.InitialState(2, DType.Float64);
            for (var t = 0; t < 5; t++)
            {
                state = layer.Step(Functional.Select(x, 0, t), state);
                RecurrentAssert.Close(state.H, Functional.Select(whole.Output, 0, t), 1e-12, $"{mode} step {t}");
            }
        }
    }

    [Fact]
    public void EvalModeTurnsDropoutOffAndTrainingModeOn()
    {
        var lstm = new Lstm(new RecurrentOptions(3, 4) { NumLayers = 2, Dropout = 0.5 }, new Generator(1));
        var x = Tensor.Randn(new Shape(5, 2, 3), new Generator(2));
        lstm.Eval();
        var a = lstm.Forward(x).ToArray();
        var b = lstm.Forward(x).ToArray();
        Assert.Equal(a, b);
        lstm.Train();
        lstm.Generator = new Generator(3);
        Assert.NotEqual(a, lstm.Forward(x).ToArray());
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        Assert.Contains("hidden_size must be positive, found 0", Assert.Throws<LoomException>(() => new Lstm(4, 0)).Message);
        Assert.Contains("input_size must be positive, found -1", Assert.Throws<LoomException>(() => new Gru(-1, 3)).Message);
        Assert.Contains("num_layers must be at least 1, found 0",
            Assert.Throws<LoomException>(() => new Rnn(new RecurrentOptions(4, 3) { NumLayers = 0 })).Message);
        Assert.Contains("dropout must be in [0, 1), found 1.5",
            Assert.Throws<LoomException>(() => new Rnn(new RecurrentOptions(4, 3) { Dropout = 1.5 })).Message);

        var lstm = new Lstm(new RecurrentOptions(4, 3) { NumLayers = 2 });
        Assert.Equal("lstm: expected an input of rank 3, [T, N, 4], found [5, 4] (rank 2)",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 4))).Message);
        Assert.Equal("lstm: input [5, 2, 7] has 7 features in its last axis, input_size is 4",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 2, 7))).Message);
        Assert.Equal("lstm: 3 lengths given for a batch of 2 sequences",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), null, [5, 4, 3])).Message);
        Assert.Equal("lstm: lengths[1] = 6 is outside 1..5 (the input has 5 steps)",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), null, [5, 6])).Message);
        Assert.Equal("lstm: lengths[0] = 0 is outside 1..5 (the input has 5 steps)",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), null, [0, 1])).Message);
        Assert.Equal("lstm: h0 has shape [1, 2, 3], expected [2, 2, 3] (num_layers·directions, batch, hidden_size)",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), new RecurrentState(Tensor.Zeros(1, 2, 3)))).Message);
        Assert.Contains("a cell state c0 was given, but only an LSTM has one",
            Assert.Throws<LoomException>(() => new Gru(4, 3).Forward(Tensor.Zeros(5, 2, 4), new RecurrentState(Tensor.Zeros(1, 2, 3), Tensor.Zeros(1, 2, 3)))).Message);
        Assert.Contains("the input is float64 but the parameters are float32",
            Assert.Throws<LoomException>(() => lstm.Forward(Tensor.Zeros(new Shape(5, 2, 4), DType.Float64))).Message);
        Assert.Contains("stepping one cell needs num_layers = 1 and one direction",
            Assert.Throws<LoomException>(() => lstm.InitialState(2)).Message);
    }
}
