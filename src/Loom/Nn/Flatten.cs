namespace Loom.Nn;

/// <summary>Flattens axes start..end into one (default: all but the batch axis). Shape: (N, *) → (N, ∏*).</summary>
public sealed class Flatten(int startAxis = 1, int endAxis = -1) : Module
{
    public int StartAxis { get; } = startAxis;

    public int EndAxis { get; } = endAxis;

    public override Tensor Forward(Tensor input) => Functional.Flatten(input, StartAxis, EndAxis);

    public override string ExtraRepr() => $"start_dim={StartAxis}, end_dim={EndAxis}";
}
