using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

public class SequenceClassifierTests
{
    [Fact]
    public void ReadsTheLastStepOrEveryStep()
    {
        var lstm = new Lstm(new RecurrentOptions(3, 5) { BatchFirst = true }, new Generator(1));
        var perSequence = new SequenceClassifier(lstm, 4, generator: new Generator(2));
        var x = Tensor.Randn(new Shape(2, 6, 3), new Generator(3));
        Assert.Equal(new Shape(2, 4), perSequence.Forward(x).Shape);
        var expected = perSequence.Head.Forward(Functional.Select(lstm.Forward(x), 1, 5)).ToArray();
        Assert.Equal(expected, perSequence.Forward(x).ToArray());
        Assert.Equal(["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias"], perSequence.StateDict().Keys);

        var bi = new Gru(new RecurrentOptions(3, 5) { BatchFirst = true, Bidirectional = true });
        Assert.Equal(new Shape(2, 6, 27), new SequenceClassifier(bi, 27, perStep: true).Forward(x).Shape);
    }

    /// <summary>Two chunks with the state carried across give the same outputs as the whole series at once.</summary>
    [Fact]
    public void CarriedStateContinuesTheSeries()
    {
        var rnn = new Rnn(new RecurrentOptions(1, 4) { BatchFirst = true }, RnnNonlinearity.Relu, new Generator(4));
        var model = new SequenceClassifier(rnn, 2, perStep: true, generator: new Generator(5)) { CarryState = true };
        var series = Tensor.Randn(new Shape(3, 10, 1), new Generator(6));
        var whole = model.Forward(series).ToArray();
        model.ResetState();
        var first = model.Forward(Functional.Narrow(series, 1, 0, 6)).ToArray();
        var second = model.Forward(Functional.Narrow(series, 1, 6, 4)).ToArray();
        for (var b = 0; b < 3; b++)
        {
            for (var t = 0; t < 10; t++)
            {
                for (var c = 0; c < 2; c++)
                {
                    var chunked = t < 6 ? first[(b * 6 + t) * 2 + c] : second[(b * 4 + t - 6) * 2 + c];
                    Assert.Equal(whole[(b * 10 + t) * 2 + c], chunked, 5);
                }
            }
        }
        model.ResetState();
        Assert.Equal(first, model.Forward(Functional.Narrow(series, 1, 0, 6)).ToArray());
    }

    [Fact]
    public void ModelsByName()
    {
        Assert.IsType<Lstm>(RecurrentModels.Create("lstm", 8, 12));
        Assert.Equal(RnnNonlinearity.Relu, ((Rnn)RecurrentModels.Create("rnn-relu", 1, 8)).Nonlinearity);
        Assert.True(((IRecurrent)RecurrentModels.Create("gated-rnn", 8, 16)).BatchFirst);
        Assert.Equal(AttentionRnn.Infinite, ((AttentionRnn)RecurrentModels.Create("attention-rnn", 8, 16, k: AttentionRnn.Infinite)).K);
        Assert.Equal(2, ((Gru)RecurrentModels.Create("gru", 8, 16, layers: 2)).NumLayers);
        Assert.Equal("model: unknown recurrent model 'transformer'; known: rnn, rnn-relu, lstm, gru, gated-rnn, attention-rnn",
            Assert.Throws<LoomException>(() => RecurrentModels.Create("transformer", 8, 16)).Message);
        Assert.Equal("lstm: hidden_size must be positive, found 0", Assert.Throws<LoomException>(() => RecurrentModels.Create("lstm", 8, 0)).Message);
        Assert.Contains("k must be at least 1", Assert.Throws<LoomException>(() => RecurrentModels.Create("attention-rnn", 8, 4, k: 0)).Message);
        Assert.Contains("must be batch-first", Assert.Throws<LoomException>(() => new SequenceClassifier(new Lstm(8, 4), 4)).Message);
    }
}
