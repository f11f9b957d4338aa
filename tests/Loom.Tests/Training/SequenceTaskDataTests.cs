using Loom.Data.Sequences;
using Loom.Training;

namespace Loom.Tests.Training;

public class SequenceTaskDataTests
{
    [Fact]
    public void EpochsAreSeededAndResumableAtABatch()
    {
        var data = new SequenceTaskData(new TemporalOrder(TemporalOrderLevel.Easy, seed: 3));
        var all = data.TrainEpoch(1).ToList();
        var resumed = data.TrainEpoch(1, startBatch: 5).ToList();
        Assert.Equal(data.BatchesPerEpoch, all.Count);
        Assert.Equal(all.Count - 5, resumed.Count);
        Assert.Equal(all[5].Inputs.AsSpan().ToArray(), resumed[0].Inputs.AsSpan().ToArray());
        Assert.Equal(all[5].Targets.AsIntSpan().ToArray(), resumed[0].Targets.AsIntSpan().ToArray());
        Assert.Equal(data.TestBatches().First().Targets.AsIntSpan().ToArray(), data.TestBatches().First().Targets.AsIntSpan().ToArray());
        Assert.Equal(992, data.TestCount);
    }

    [Fact]
    public void ResolveFillsTheTaskDefaultsAndChecksThem()
    {
        var echo = SequenceTaskData.Resolve(new TrainConfig { Data = "echo", Model = "gru" });
        Assert.Equal((64, 1, 4), (echo.Hidden, echo.Layers, echo.Delay));
        Assert.Null(echo.Level);
        var variable = SequenceTaskData.Resolve(new TrainConfig { Data = "echo", Model = "gru", MaxDelay = 8 });
        Assert.Equal((128, 2, (int?)null), (variable.Hidden, variable.Layers, variable.Delay));
        Assert.Equal(200, SequenceTaskData.DefaultEpochs("echo", 8));
        Assert.Equal(1, SequenceTaskData.Resolve(new TrainConfig { Data = "echo", Model = "gated-rnn", MaxDelay = 8 }).Layers);
        var to = SequenceTaskData.Resolve(new TrainConfig { Data = "temporal-order", Model = "attention-rnn" });
        Assert.Equal(("normal", 2), (to.Level, to.K));
        var e = Assert.Throws<LoomException>(() => SequenceTaskData.Resolve(new TrainConfig { Data = "echo", Model = "gru", Level = "easy" }));
        Assert.Contains("--level easy", e.Message);
        e = Assert.Throws<LoomException>(() => SequenceTaskData.Resolve(new TrainConfig { Data = "echo", Model = "gru", Delay = 2, MaxDelay = 3 }));
        Assert.Contains("--max-delay 3", e.Message);
    }

    [Fact]
    public void EchoBitsModelCarriesStateAndTheTrainerResetsIt()
    {
        var config = SequenceTaskData.Resolve(new TrainConfig { Data = "echo-bits", Model = "rnn-relu" });
        var data = SequenceTaskData.Create(config);
        var model = data.CreateModel(config);
        Assert.True(model.CarryState);
        Assert.True(model.PerStep);
        var first = data.TestBatches().First();
        using var _ = Loom.Autograd.NoGrad();
        var fresh = model.Forward(first.Inputs).AsSpan().ToArray();
        model.Forward(first.Inputs);
        Assert.NotEqual(fresh, model.Forward(first.Inputs).AsSpan().ToArray());
        Metrics.Evaluate(model, data);
        Assert.Equal(fresh, model.Forward(first.Inputs).AsSpan().ToArray());
    }
}
