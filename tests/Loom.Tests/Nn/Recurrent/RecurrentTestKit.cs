using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>A random recurrent configuration, small enough for gradient checks.</summary>
public sealed record RecurrentCase(string Mode, int Input, int Hidden, int Layers, bool Bidirectional, bool BatchFirst, bool Bias,
    int Steps, int Batch, bool VariableLength, bool WithState, double Dropout)
{
    public int Directions => Bidirectional ? 2 : 1;

    public override string ToString() =>
        $"{Mode} in={Input} H={Hidden} L={Layers} bi={Bidirectional} bf={BatchFirst} bias={Bias} T={Steps} N={Batch} var={VariableLength} state={WithState} p={Dropout}";

    public static RecurrentCase Draw(Generator g, string? mode = null, double dropout = 0) => new(
        mode ?? new[] { "rnn_tanh", "rnn_relu", "lstm", "gru" }[g.NextInt(4)],
        g.NextInt(1, 4), g.NextInt(1, 4), g.NextInt(1, 3), g.NextDouble() < 0.5, g.NextDouble() < 0.5, g.NextDouble() < 0.8,
        g.NextInt(1, 5), g.NextInt(1, 4), g.NextDouble() < 0.5, g.NextDouble() < 0.5, dropout);

    public RecurrentLayer Build(ulong seed, DType dtype = DType.Float64)
    {
        var options = new RecurrentOptions(Input, Hidden)
        {
            NumLayers = Layers,
            Bidirectional = Bidirectional,
            BatchFirst = BatchFirst,
            Bias = Bias,
            Dropout = Dropout,
        };
        var g = new Generator(seed);
        RecurrentLayer layer = Mode switch
        {
            "lstm" => new Lstm(options, g),
            "gru" => new Gru(options, g),
            "rnn_relu" => new Rnn(options, RnnNonlinearity.Relu, g),
            _ => new Rnn(options, RnnNonlinearity.Tanh, g),
        };
        layer.To(dtype);
        return layer;
    }

    /// <summary>x, h0, c0 (or null) and lengths (or null) drawn from <paramref name="g"/>.</summary>
    public (Tensor X, Tensor? H0, Tensor? C0, int[]? Lengths) Inputs(Generator g, DType dtype = DType.Float64)
    {
        var x = Tensor.Randn(BatchFirst ? new Shape(Batch, Steps, Input) : new Shape(Steps, Batch, Input), g, dtype);
        var stateShape = new Shape(Layers * Directions, Batch, Hidden);
        var h0 = WithState ? Tensor.Randn(stateShape, g, dtype) : null;
        var c0 = WithState && Mode == "lstm" ? Tensor.Randn(stateShape, g, dtype) : null;
        int[]? lengths = null;
        if (VariableLength)
        {
            lengths = new int[Batch];
            for (var b = 0; b < Batch; b++) lengths[b] = g.NextInt(1, Steps + 1);
        }
        return (x, h0, c0, lengths);
    }
}

internal static class RecurrentAssert
{
    /// <summary>|a − b| ≤ tol·(1 + |b|) elementwise.</summary>
    public static void Close(Tensor? actual, Tensor? expected, double tol, string what)
    {
        if (expected is null)
        {
            Assert.True(actual is null || actual.ToDoubleArray().All(v => v == 0), $"{what}: expected no value");
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(expected.Shape, actual.Shape);
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        for (var i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - e[i]) <= tol * (1 + Math.Abs(e[i])), $"{what}[{i}]: {a[i]} vs expected {e[i]} (tol {tol})");
        }
    }

    /// <summary>Σ output ⊙ R₁ + Σ h_n ⊙ R₂ (+ Σ c_n ⊙ R₃): a loss that sends a random gradient into every result.</summary>
    public static Tensor Project(RecurrentOutput r, Generator g)
    {
        var loss = Functional.Sum(Functional.Mul(r.Output, Tensor.Randn(r.Output.Shape, g, r.Output.DType)));
        loss = Functional.Add(loss, Functional.Sum(Functional.Mul(r.H, Tensor.Randn(r.H.Shape, g, r.H.DType))));
        if (r.C is not null) loss = Functional.Add(loss, Functional.Sum(Functional.Mul(r.C, Tensor.Randn(r.C.Shape, g, r.C.DType))));
        return loss;
    }
}

/// <summary>
/// Finite differences on live tensors (module parameters, inputs): perturbs each element of each leaf in place, so a
/// module can be checked through its own parameters. float64 only.
/// </summary>
internal static class LiveGradCheck
{
    public static GradCheckResult Run(Func<Tensor> f, IReadOnlyList<Tensor> leaves, double eps = 1e-6, ulong seed = 7)
    {
        foreach (var leaf in leaves)
        {
            Assert.Equal(DType.Float64, leaf.DType);
            leaf.RequiresGrad_();
            leaf.Grad = null;
        }
        var y = f();
        var projection = Tensor.Randn(y.Shape, new Generator(seed), DType.Float64);
        Functional.Sum(Functional.Mul(y, projection)).Backward();
        var worst = new GradCheckResult(0, 0, -1, 0, 0);
        using var _ = Loom.Autograd.NoGrad();
        for (var i = 0; i < leaves.Count; i++)
        {
            var analytic = leaves[i].Grad?.ToDoubleArray() ?? new double[leaves[i].Numel];
            var data = leaves[i].AsDoubleSpan();
            for (var j = 0; j < data.Length; j++)
            {
                var saved = data[j];
                data[j] = saved + eps;
                var plus = Functional.Sum(Functional.Mul(f(), projection)).Item();
                data[j] = saved - eps;
                var minus = Functional.Sum(Functional.Mul(f(), projection)).Item();
                data[j] = saved;
                var numeric = (plus - minus) / (2 * eps);
                var error = Math.Abs(analytic[j] - numeric) / Math.Max(1.0, Math.Abs(numeric));
                if (double.IsNaN(error) || error > worst.RelativeError) worst = new GradCheckResult(error, i, j, analytic[j], numeric);
            }
        }
        return worst;
    }

    /// <summary>All results of a recurrent layer flattened into one vector.</summary>
    public static Tensor Flat(RecurrentOutput r)
    {
        var parts = new List<Tensor> { Functional.Reshape(r.Output, -1), Functional.Reshape(r.H, -1) };
        if (r.C is not null) parts.Add(Functional.Reshape(r.C, -1));
        return Functional.Concat(parts);
    }
}
