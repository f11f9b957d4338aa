using static Loom.Functional;

namespace Loom.Tests.Ops;

/// <summary>
/// One entry per differentiable op (PyTorch's OpInfo idea): how to draw sample inputs and how to apply the op.
/// The same table feeds the float64 gradient checks and the float32-vs-float64 agreement test.
/// </summary>
public sealed record OpCase(string Name, Func<Generator, Tensor[]> Sample, Func<Tensor[], Tensor> Apply)
{
    public override string ToString() => Name;
}

public static class OpTable
{
    /// <summary>A random shape of rank 1..4 with sizes 1..4.</summary>
    public static int[] RandomShape(Generator g, int minRank = 1, int maxRank = 4)
    {
        var rank = g.NextInt(minRank, maxRank + 1);
        var dims = new int[rank];
        for (var i = 0; i < rank; i++) dims[i] = g.NextInt(1, 5);
        return dims;
    }

    /// <summary>A shape that broadcasts against <paramref name="shape"/>: a suffix with some sizes set to 1.</summary>
    public static int[] BroadcastPartner(Generator g, int[] shape)
    {
        var drop = g.NextInt(0, shape.Length);
        var dims = shape[drop..].ToArray();
        for (var i = 0; i < dims.Length; i++) if (g.NextDouble() < 0.4) dims[i] = 1;
        return dims;
    }

    public static Tensor Randn(Generator g, params int[] shape) => Tensor.Randn(new Shape(shape), g, DType.Float64);

    /// <summary>Values in ±[lo, hi]: away from zero, for ops with a kink or pole there.</summary>
    public static Tensor AwayFromZero(Generator g, int[] shape, double lo = 0.2, double hi = 2)
    {
        var t = Tensor.Uniform(new Shape(shape), lo, hi, g, DType.Float64);
        var s = t.AsDoubleSpan();
        for (var i = 0; i < s.Length; i++) if (g.NextDouble() < 0.5) s[i] = -s[i];
        return t;
    }

    public static Tensor Positive(Generator g, int[] shape) => Tensor.Uniform(new Shape(shape), 0.3, 2.5, g, DType.Float64);

    private static Tensor[] Pair(Generator g)
    {
        var a = RandomShape(g);
        var b = BroadcastPartner(g, a);
        return g.NextDouble() < 0.5 ? [Randn(g, a), Randn(g, b)] : [Randn(g, b), Randn(g, a)];
    }

    private static Tensor[] One(Generator g) => [Randn(g, RandomShape(g))];

    public static readonly OpCase[] All =
    [
        new("add", Pair, x => Add(x[0], x[1])),
        new("sub", Pair, x => Sub(x[0], x[1])),
        new("mul", Pair, x => Mul(x[0], x[1])),
        new("div", g => { var p = Pair(g); return [p[0], AwayFromZero(g, p[1].Shape.ToArray())]; }, x => Div(x[0], x[1])),
        new("add_scalar", One, x => Add(x[0], 1.5)),
        new("rsub_scalar", One, x => RSub(2, x[0])),
        new("mul_scalar", One, x => Mul(x[0], -0.7)),
        new("rdiv_scalar", g => [AwayFromZero(g, RandomShape(g))], x => RDiv(3, x[0])),
        new("neg", One, x => Neg(x[0])),
        new("maximum", g => { var a = RandomShape(g); return [AwayFromZero(g, a), Randn(g, a) * 0.01]; }, x => Maximum(x[0], x[1])),
        new("minimum", g => { var a = RandomShape(g); return [AwayFromZero(g, a), Randn(g, a) * 0.01]; }, x => Minimum(x[0], x[1])),
        new("pow2", One, x => Pow(x[0], 2)),
        new("pow_frac", g => [Positive(g, RandomShape(g))], x => Pow(x[0], 1.7)),
        new("exp", One, x => Exp(x[0])),
        new("log", g => [Positive(g, RandomShape(g))], x => Log(x[0])),
        new("sqrt", g => [Positive(g, RandomShape(g))], x => Sqrt(x[0])),
        new("abs", g => [AwayFromZero(g, RandomShape(g))], x => Abs(x[0])),
        new("relu", g => [AwayFromZero(g, RandomShape(g))], x => Relu(x[0])),
        new("leaky_relu", g => [AwayFromZero(g, RandomShape(g))], x => LeakyRelu(x[0], 0.1)),
        new("gelu", One, x => Gelu(x[0])),
        new("gelu_tanh", One, x => Gelu(x[0], tanhApproximation: true)),
        new("tanh", One, x => Tanh(x[0])),
        new("sigmoid", One, x => Sigmoid(x[0])),
        new("sum", One, x => Sum(x[0])),
        new("sum_axes", g => [Randn(g, RandomShape(g, 2))], x => Sum(x[0], [0, -1], keepDim: false)),
        new("sum_keepdim", g => [Randn(g, RandomShape(g, 2))], x => Sum(x[0], [-1], keepDim: true)),
        new("mean", g => [Randn(g, RandomShape(g, 2))], x => Mean(x[0], 1)),
        new("var", g => [Randn(g, 3, 4)], x => Var(x[0], [1])),
        new("max_axis", g => [Tensor.FromArray(DistinctValues(g, 12), 3, 4)], x => Max(x[0], 1).Values),
        new("logsumexp", g => [Randn(g, RandomShape(g, 2))], x => LogSumExp(x[0], -1)),
        new("softmax", g => [Randn(g, RandomShape(g, 1))], x => Softmax(x[0], -1)),
        new("softmax_axis0", g => [Randn(g, 3, 4, 2)], x => Softmax(x[0], 1)),
        new("log_softmax", g => [Randn(g, RandomShape(g, 1))], x => LogSoftmax(x[0], -1)),
        new("log_softmax_mid", g => [Randn(g, 2, 3, 4)], x => LogSoftmax(x[0], 1)),
        new("batch_norm_train", g => [Randn(g, 3, 4, 5), Randn(g, 4), Randn(g, 4)],
            x => BatchNorm(x[0], null, null, x[1], x[2], training: true, eps: 1e-3)),
        new("batch_norm_train_2d_plain", g => [Randn(g, 4, 3)], x => BatchNorm(x[0], null, null, training: true)),
        new("batch_norm_eval", g => [Randn(g, 2, 3, 2, 2), Randn(g, 3), Randn(g, 3)],
            x => BatchNorm(x[0], Randn(new Generator(9), 3).To(x[0].DType), Positive(new Generator(10), [3]).To(x[0].DType), x[1], x[2])),
        new("matmul_2d", g => [Randn(g, 3, 4), Randn(g, 4, 5)], x => MatMul(x[0], x[1])),
        new("matmul_batched_broadcast", g => [Randn(g, 2, 1, 3, 4), Randn(g, 3, 4, 2)], x => MatMul(x[0], x[1])),
        new("matmul_vec", g => [Randn(g, 4), Randn(g, 2, 4, 3)], x => MatMul(x[0], x[1])),
        new("matmul_dot", g => [Randn(g, 5), Randn(g, 5)], x => MatMul(x[0], x[1])),
        new("linear", g => [Randn(g, 2, 3, 4), Randn(g, 5, 4), Randn(g, 5)], x => Linear(x[0], x[1], x[2])),
        new("reshape", g => [Randn(g, 2, 3, 4)], x => Reshape(x[0], 4, -1) * Randn(new Generator(5), 4, 6).To(x[0].DType)),
        new("expand", g => [Randn(g, 3, 1)], x => Expand(x[0], new Shape(2, 3, 4))),
        new("permute", g => [Randn(g, 2, 3, 4)], x => Permute(x[0], 2, 0, 1)),
        new("transpose", g => [Randn(g, 2, 3)], x => Transpose(x[0], 0, 1)),
        new("narrow", g => [Randn(g, 3, 5, 2)], x => Narrow(x[0], 1, 1, 3)),
        new("select", g => [Randn(g, 3, 5)], x => Select(x[0], 0, -1)),
        new("concat", g => [Randn(g, 2, 3), Randn(g, 2, 1), Randn(g, 2, 2)], x => Concat(x, 1)),
        new("stack", g => [Randn(g, 2, 3), Randn(g, 2, 3)], x => Stack(x, 1)),
        new("index_select", g => [Randn(g, 4, 3)], x => IndexSelect(x[0], 0, Tensor.FromArray([3, 0, 3, 1], 4))),
        new("gather", g => [Randn(g, 3, 4)], x => Gather(x[0], 1, Tensor.FromArray([0, 3, 3, 1, 2, 2], 3, 2))),
        new("pad", g => [Randn(g, 2, 3, 4)], x => Pad(x[0], [1, 2, 0, 1], 0.5)),
        new("pad_crop", g => [Randn(g, 2, 5)], x => Pad(x[0], [-1, 2])),
        new("flatten", g => [Randn(g, 2, 3, 4)], x => Flatten(x[0], 1)),
        new("cross_entropy", g => [Randn(g, 4, 5)], x => CrossEntropy(x[0], Tensor.FromArray([1, 0, 4, 2], 4))),
        new("cross_entropy_weighted_smooth_ignore", g => [Randn(g, 4, 3)],
            x => CrossEntropy(x[0], Tensor.FromArray([1, -100, 2, 0], 4), Tensor.FromArray([0.5, 2.0, 1.0], 3).To(x[0].DType), labelSmoothing: 0.2)),
        new("cross_entropy_spatial", g => [Randn(g, 2, 3, 2, 2)],
            x => CrossEntropy(x[0], Tensor.FromArray([0, 1, 2, 1, 2, 2, 0, 1], 2, 2, 2), reduction: Reduction.Sum)),
        new("cross_entropy_probs", g => [Randn(g, 3, 4), Tensor.Rand(new Shape(3, 4), g, DType.Float64)], x => CrossEntropy(x[0], x[1])),
        new("nll", g => [Randn(g, 3, 4)], x => Nll(x[0], Tensor.FromArray([3, 0, 1], 3), reduction: Reduction.None)),
        new("mse", g => [Randn(g, 3, 4), Randn(g, 3, 4)], x => MseLoss(x[0], x[1])),
        new("bce_with_logits", g => [Randn(g, 3, 4), Tensor.Rand(new Shape(3, 4), g, DType.Float64)],
            x => BinaryCrossEntropyWithLogits(x[0], x[1], Tensor.FromArray([0.5, 1, 2, 3.0], 4).To(x[0].DType))),
    ];

    /// <summary>n values at least 0.1 apart, shuffled: max/min have no near-ties.</summary>
    public static double[] DistinctValues(Generator g, int n)
    {
        var v = new double[n];
        for (var i = 0; i < n; i++) v[i] = (i - n / 2.0) * 0.3 + g.NextDouble() * 0.1;
        g.Shuffle<double>(v);
        return v;
    }

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All) data.Add(c.Name);
        return data;
    }

    public static OpCase Get(string name) => All.Single(c => c.Name == name);
}
