namespace Loom.Nn;

/// <summary>PyTorch's default initialisations (<c>torch.nn.init</c>).</summary>
public static class Init
{
    /// <summary>U(−bound, bound) in place.</summary>
    public static Tensor Uniform_(Tensor t, double low, double high, Generator? generator = null)
    {
        var g = generator ?? Rng.Global;
        using var _ = Autograd.NoGrad();
        for (var i = 0; i < t.Numel; i++) t.SetFlat(i, low + (high - low) * g.NextDouble());
        return t;
    }

    /// <summary>
    /// Kaiming-uniform with a = √5, PyTorch's default for Conv and Linear weights: bound = gain·√(3/fan_in) with
    /// gain = √(2/(1 + a²)), which is 1/√fan_in.
    /// </summary>
    public static Tensor KaimingUniform_(Tensor t, double a = 2.2360679774997896, Generator? generator = null)
    {
        var fanIn = FanIn(t);
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        var bound = gain * Math.Sqrt(3.0 / fanIn);
        return Uniform_(t, -bound, bound, generator);
    }

    /// <summary>fan_in of a weight: in-features × receptive field size (dimensions 1.. of [out, in, k…]).</summary>
    public static int FanIn(Tensor weight)
    {
        if (weight.Rank < 2) throw new LoomException($"init: fan_in needs a weight of rank ≥ 2, found {weight.Shape}");
        return weight.Shape.Product(1, weight.Rank);
    }

    /// <summary>The bias bound PyTorch uses for Conv and Linear: 1/√fan_in.</summary>
    public static Tensor BiasUniform_(Tensor bias, int fanIn, Generator? generator = null)
    {
        var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        return Uniform_(bias, -bound, bound, generator);
    }
}
