namespace Loom.Nn;

/// <summary>max(x, 0). Shape: any → same.</summary>
public sealed class ReLU : Module
{
    public override Tensor Forward(Tensor input) => Functional.Relu(input);
}

/// <summary>x for x &gt; 0 else negative_slope·x. Shape: any → same.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    public double NegativeSlope { get; } = negativeSlope;

    public override Tensor Forward(Tensor input) => Functional.LeakyRelu(input, NegativeSlope);

    public override string ExtraRepr() => $"negative_slope={NegativeSlope}";
}

/// <summary>x·Φ(x) (or the tanh approximation). Shape: any → same.</summary>
public sealed class GELU(bool tanhApproximation = false) : Module
{
    public bool TanhApproximation { get; } = tanhApproximation;

    public override Tensor Forward(Tensor input) => Functional.Gelu(input, TanhApproximation);

    public override string ExtraRepr() => TanhApproximation ? "approximate='tanh'" : "";
}

/// <summary>tanh x. Shape: any → same.</summary>
public sealed class Tanh : Module
{
    public override Tensor Forward(Tensor input) => Functional.Tanh(input);
}

/// <summary>σ(x) = 1/(1 + e⁻ˣ). Shape: any → same.</summary>
public sealed class Sigmoid : Module
{
    public override Tensor Forward(Tensor input) => Functional.Sigmoid(input);
}

/// <summary>Softargmax along an axis. Shape: any → same.</summary>
public sealed class Softmax(int axis = -1) : Module
{
    public int Axis { get; } = axis;

    public override Tensor Forward(Tensor input) => Functional.Softmax(input, Axis);

    public override string ExtraRepr() => $"dim={Axis}";
}

/// <summary>Passes the input through unchanged.</summary>
public sealed class Identity : Module
{
    public override Tensor Forward(Tensor input) => input;
}
