using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>Float64 finite-difference checks of every recurrent layer through its own parameters, inputs and states.</summary>
public class RecurrentGradCheckTests
{
    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("rnn_relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void FusedLayersPassGradientChecks(string mode)
    {
        var g = new Generator((ulong)mode.Length * 31);
        // One full-featured case (2 layers, bidirectional, variable lengths, initial state) and three random ones.
        var cases = new List<RecurrentCase> { new(mode, 2, 3, 2, true, true, true, 4, 3, true, true, 0) };
        for (var i = 0; i < 3; i++) cases.Add(RecurrentCase.Draw(g, mode));
        foreach (var c in cases)
        {
            var layer = c.Build(5);
            var (x, h0, c0, lengths) = c.Inputs(new Generator(6));
            var leaves = new List<Tensor>(layer.Parameters()) { x };
            if (h0 is not null) leaves.Add(h0);
            if (c0 is not null) leaves.Add(c0);
            var state = h0 is null ? null : new RecurrentState(h0, c0);
            var result = LiveGradCheck.Run(() => LiveGradCheck.Flat(layer.Forward(x, state, lengths)), leaves);
            Assert.True(result.RelativeError <= 1e-6, $"{c}: {result}");
        }
    }

    [Fact]
    public void DropoutBetweenLayersPassesGradientCheckWithAFixedMask()
    {
        var c = new RecurrentCase("lstm", 2, 3, 2, true, false, true, 3, 2, false, false, 0.4);
        var layer = c.Build(8);
        var (x, _, _, _) = c.Inputs(new Generator(9));
        var leaves = new List<Tensor>(layer.Parameters()) { x };
        var result = LiveGradCheck.Run(() =>
        {
            layer.Generator = new Generator(10);   // the same mask on every evaluation
            return LiveGradCheck.Flat(layer.Forward(x, null, null));
        }, leaves);
        Assert.True(result.RelativeError <= 1e-6, result.ToString());
    }

    [Fact]
    public void GatedRnnPassesGradientCheck()
    {
        var model = new GatedRnn(3, 4, batchFirst: true, generator: new Generator(1)).To(DType.Float64);
        var g = new Generator(2);
        var x = Tensor.Randn(new Shape(2, 5, 3), g, DType.Float64);
        var h0 = Tensor.Randn(new Shape(1, 2, 4), g, DType.Float64);
        var leaves = new List<Tensor>(model.Parameters()) { x, h0 };
        var gated = (GatedRnn)model;
        var result = LiveGradCheck.Run(() => LiveGradCheck.Flat(gated.Forward(x, new RecurrentState(h0), [5, 3])), leaves);
        Assert.True(result.RelativeError <= 1e-6, result.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(AttentionRnn.Infinite)]
    public void AttentionRnnPassesGradientCheck(int k)
    {
        var model = new AttentionRnn(3, 3, k, generator: new Generator(3));
        model.To(DType.Float64);
        var g = new Generator(4);
        var x = Tensor.Randn(new Shape(4, 2, 3), g, DType.Float64);
        var h0 = Tensor.Randn(new Shape(1, 2, 3), g, DType.Float64);
        var leaves = new List<Tensor>(model.Parameters()) { x, h0 };
        var result = LiveGradCheck.Run(() => LiveGradCheck.Flat(model.Forward(x, new RecurrentState(h0), [4, 2])), leaves);
        Assert.True(result.RelativeError <= 1e-6, $"k={k}: {result}");
    }
}
