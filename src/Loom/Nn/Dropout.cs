namespace Loom.Nn;

/// <summary>
/// In training, zeroes each element with probability p and scales the rest by 1/(1 − p); identity in eval mode.
/// Draws from <see cref="Generator"/> (default: <see cref="Rng.Global"/>). Shape: any → same.
/// </summary>
public sealed class Dropout : Module
{
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (p < 0 || p > 1) throw new LoomException($"dropout: probability p must be in [0, 1], found {p}");
        P = p;
        Generator = generator;
    }

    public double P { get; }

    /// <summary>The generator drawing the masks (null: the global one).</summary>
    public Generator? Generator { get; set; }

    public override Tensor Forward(Tensor input)
    {
        if (!Training || P == 0) return input;
        if (P == 1) return Functional.Mul(input, 0);
        var g = Generator ?? Rng.Global;
        var mask = Tensor.Empty(input.Shape, input.DType);
        var scale = 1 / (1 - P);
        for (var i = 0; i < mask.Numel; i++) mask.SetFlat(i, g.NextDouble() >= P ? scale : 0);
        return Functional.Mul(input, mask);
    }

    public override string ExtraRepr() => $"p={P}";
}
