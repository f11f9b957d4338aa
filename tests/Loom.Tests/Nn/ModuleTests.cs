using Loom.Nn;

namespace Loom.Tests.Nn;

public class ModuleTests
{
    [Fact]
    public void SequentialKeysCountParameterlessLayersAsPyTorch()
    {
        var model = new Sequential(new Linear(4, 8), new ReLU(), new Dropout(0.1), new Linear(8, 2), new BatchNorm1d(2));
        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias", "4.weight", "4.bias", "4.running_mean", "4.running_var", "4.num_batches_tracked"],
            model.StateDict().Keys);
        Assert.Equal(4 * 8 + 8 + 8 * 2 + 2 + 2 + 2, model.ParameterCount());
    }

    [Fact]
    public void LinearInitialisationFollowsPyTorchBounds()
    {
        Rng.ManualSeed(3);
        var fc = new Linear(100, 50);
        var bound = 1 / Math.Sqrt(100);
        Assert.All(fc.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(fc.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        // uniform: the variance of U(−b, b) is b²/3
        var w = fc.Weight.ToArray();
        var variance = w.Select(v => (double)v * v).Average();
        Assert.InRange(variance, bound * bound / 3 * 0.9, bound * bound / 3 * 1.1);
    }

    [Fact]
    public void LoadStateDictReportsMissingUnexpectedAndMisShapedKeys()
    {
        var model = new Sequential(new Linear(4, 3));
        var state = new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 5), ["1.bias"] = Tensor.Zeros(3) };
        var e = Assert.Throws<LoomException>(() => model.LoadStateDict(state));
        Assert.Contains("missing keys: 0.bias", e.Message);
        Assert.Contains("unexpected keys: 1.bias", e.Message);
        Assert.Contains("0.weight: checkpoint has shape [3, 5], model has [3, 4]", e.Message);

        var good = new Sequential(new Linear(4, 3));
        model.LoadStateDict(good.StateDict());
        Assert.Equal(good.StateDict()["0.weight"].ToArray(), model.StateDict()["0.weight"].ToArray());
    }

    [Fact]
    public void BatchNormTracksRunningStatisticsAsPyTorch()
    {
        var bn = new BatchNorm1d(2, momentum: 0.1);
        var x = Tensor.FromArray([1f, 10f, 3f, 20f, 5f, 30f], 3, 2);
        var y = bn.Forward(x);
        // channel 0: mean 3, biased var 8/3, unbiased var 4 → y = (x − 3)/√(8/3 + 1e-5)
        Assert.Equal((1 - 3) / Math.Sqrt(8.0 / 3 + 1e-5), y[0, 0], 5);
        Assert.Equal([0.3f, 2f], bn.StateDict()["running_mean"].ToArray());
        Assert.Equal(0.9 + 0.1 * 4, bn.StateDict()["running_var"][0], 5);
        Assert.Equal(0.9 + 0.1 * 100, bn.StateDict()["running_var"][1], 4);
        Assert.Equal(1.0, bn.StateDict()["num_batches_tracked"].Item());

        bn.Eval();
        var ye = bn.Forward(x);
        Assert.Equal((1 - 0.3) / Math.Sqrt(1.3 + 1e-5), ye[0, 0], 5);
    }

    [Fact]
    public void BatchNormGradientsPassFiniteDifferences()
    {
        var bn = new BatchNorm2d(3);
        bn.To(DType.Float64);
        bn.StateDict()["weight"].CopyFrom(Tensor.FromArray([0.5, -1.5, 2.0], 3));
        var x = Tensor.Randn(new Shape(2, 3, 2, 2), new Generator(4), DType.Float64);
        var result = GradCheck.Run(inputs => bn.Forward(inputs[0]), [x]);
        Assert.True(result.RelativeError <= 1e-6, result.ToString());

        // γ and β through the same normalisation, as explicit inputs
        var plain = new BatchNorm2d(3, affine: false, trackRunningStats: false);
        var gamma = Tensor.Randn(new Shape(1, 3, 1, 1), new Generator(5), DType.Float64);
        var beta = Tensor.Randn(new Shape(1, 3, 1, 1), new Generator(6), DType.Float64);
        result = GradCheck.Run(inputs => plain.Forward(inputs[0]) * inputs[1] + inputs[2], [x, gamma, beta]);
        Assert.True(result.RelativeError <= 1e-6, result.ToString());
    }

    [Fact]
    public void DropoutScalesKeptValuesAndIsIdentityInEval()
    {
        var d = new Dropout(0.25, new Generator(9));
        var y = d.Forward(Tensor.Ones(10_000)).ToArray();
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.75f) < 1e-6));
        Assert.InRange(y.Count(v => v == 0) / 10_000.0, 0.23, 0.27);
        d.Eval();
        Assert.Equal(Tensor.Ones(5).ToArray(), d.Forward(Tensor.Ones(5)).ToArray());
    }

    [Fact]
    public void ToDoubleConvertsParametersAndKeepsThemTrainable()
    {
        var model = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
        model.To(DType.Float64);
        Assert.All(model.Parameters(), p => { Assert.Equal(DType.Float64, p.DType); Assert.True(p.RequiresGrad); });
        Assert.Equal(DType.Int32, model.StateDict()["1.num_batches_tracked"].DType);
        var y = model.Forward(Tensor.Randn(new Shape(4, 2), new Generator(1), DType.Float64));
        Assert.Equal(DType.Float64, y.DType);
    }
}
