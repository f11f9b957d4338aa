using Loom.Nn;

namespace Loom.Tests.Nn;

/// <summary>
/// <see cref="Sequential"/> computes [Conv2d, ReLU, MaxPool2d], [Conv2d, ReLU] and [ReLU, MaxPool2d] with fused ops
/// and, under no-grad, gives intermediates back to the pool early: its outputs and gradients must equal those of the
/// same layers applied one by one, and nothing the caller or a user module can still see may be recycled.
/// </summary>
public class SequentialFusionTests
{
    /// <summary>A user module that keeps its input and output (so neither may be recycled).</summary>
    private sealed class Keeper : Module
    {
        public Tensor? Input { get; private set; }

        public Tensor? Output { get; private set; }

        public override Tensor Forward(Tensor input)
        {
            Input = input;
            Output = Functional.Mul(input, 2);
            return Output;
        }
    }

    private static Sequential Model(Generator g, Module? middle = null) => new(
        new Conv2d(2, 4, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2),
        new Conv2d(4, 6, 3, padding: 1, generator: g), new ReLU(),
        middle ?? new Identity(),
        new BatchNorm2d(6), new ReLU(), new MaxPool2d(2, stride: 1),
        new Flatten(), new Linear(6 * 3 * 3, 5, generator: g), new ReLU(), new Linear(5, 3, generator: g));

    private static Tensor LayerByLayer(Sequential model, Tensor x)
    {
        foreach (var layer in model.Layers) x = layer.Forward(x);
        return x;
    }

    [Fact]
    public void FusedForwardAndBackwardEqualTheLayersOneByOne()
    {
        var model = Model(new Generator(4));
        var x = Tensor.Randn(new Shape(3, 2, 8, 8), new Generator(5));
        var upstream = Tensor.Randn(new Shape(3, 3), new Generator(6));

        var expected = LayerByLayer(model, x);
        expected.Backward(upstream);
        var expectedGrads = model.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        model.ZeroGrad();

        var actual = model.Forward(x);
        actual.Backward(upstream);
        Assert.Equal(expected.ToArray(), actual.ToArray());
        var grads = model.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        for (var k = 0; k < grads.Count; k++)
        {
            var scale = expectedGrads[k].Max(v => Math.Abs((double)v)) + 1e-30;
            for (var i = 0; i < grads[k].Length; i++)
                Assert.True(Math.Abs((double)grads[k][i] - expectedGrads[k][i]) <= 1e-6 * scale, $"parameter {k} element {i}");
        }
    }

    [Fact]
    public void NoGradForwardRecyclesIntermediatesOnlyAndGivesTheSameValues()
    {
        var model = Model(new Generator(7));
        model.Eval();
        var x = Tensor.Randn(new Shape(2, 2, 8, 8), new Generator(8));
        using var _ = global::Loom.Autograd.NoGrad();
        var expected = LayerByLayer(model, x).ToArray();
        var before = Sequential.RecycledOnThisThread;
        var y = model.Forward(x);
        // conv-relu-pool → conv-relu: 1; → Identity (returns its input: kept); → bn: 1 (the Identity's output, an
        // intermediate made here); → relu-pool: 1; → flatten (a view: kept); → linear: 1; → relu: 1; → linear: 1.
        Assert.Equal(6, Sequential.RecycledOnThisThread - before);
        Assert.Equal(expected, y.ToArray());
        Assert.Equal(2 * 2 * 8 * 8, x.ToArray().Length); // the caller's input is intact
        Assert.Equal(expected, model.Forward(x).ToArray());
    }

    [Fact]
    public void NoGradBasicBlockRecyclesItsIntermediatesAndGivesTheSameValues()
    {
        foreach (var (inPlanes, planes, stride) in new[] { (4, 4, 1), (4, 6, 2) })
        {
            var block = new BasicBlock(inPlanes, planes, stride, new Generator(21));
            block.Eval();
            var x = Tensor.Randn(new Shape(2, inPlanes, 6, 6), new Generator(22));
            var expected = block.Forward(x).ToArray(); // recorded: nothing is given back
            using var _ = global::Loom.Autograd.NoGrad();
            var before = Sequential.RecycledOnThisThread;
            var y = block.Forward(x);
            Assert.Equal(expected, y.ToArray());
            Assert.False(x.IsReleased);
            // conv1, bn1, relu, conv2, bn2 and the sum; with a projection also its conv (inside the Sequential) and its bn.
            Assert.Equal(stride == 1 ? 6 : 8, Sequential.RecycledOnThisThread - before);
        }
    }

    [Fact]
    public void NoGradForwardKeepsWhatAUserModuleHolds()
    {
        var keeper = new Keeper();
        var model = Model(new Generator(9), keeper);
        model.Eval();
        var x = Tensor.Randn(new Shape(2, 2, 8, 8), new Generator(10));
        using var _ = global::Loom.Autograd.NoGrad();
        var y = model.Forward(x);
        Assert.False(keeper.Input!.IsReleased);
        Assert.False(keeper.Output!.IsReleased);
        Assert.Equal(Functional.Mul(keeper.Input, 2).ToArray(), keeper.Output.ToArray());
        Assert.Equal(LayerByLayer(model, x).ToArray(), y.ToArray());
    }

    [Fact]
    public void RecordedForwardRecyclesNothing()
    {
        var model = Model(new Generator(11));
        var x = Tensor.Randn(new Shape(2, 2, 8, 8), new Generator(12));
        var before = Sequential.RecycledOnThisThread;
        model.Forward(x).Sum().Backward();
        Assert.Equal(before, Sequential.RecycledOnThisThread);
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
    }
}
