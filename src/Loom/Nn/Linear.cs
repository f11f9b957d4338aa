namespace Loom.Nn;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b.
/// Args: in_features, out_features, bias. Weight [out, in] and bias [out] start U(−1/√in, 1/√in).
/// Shape: (*, in) → (*, out).
/// </summary>
/// <example><code>var fc = new Linear(784, 10); var y = fc.Forward(Tensor.Zeros(32, 784)); // [32, 10]</code></example>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new LoomException($"linear: in_features {inFeatures} and out_features {outFeatures} must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = RegisterParameter("weight", Tensor.Zeros(outFeatures, inFeatures));
        Init.KaimingUniform_(w, generator: generator);
        if (bias) Init.BiasUniform_(RegisterParameter("bias", Tensor.Zeros(outFeatures)), inFeatures, generator);
        HasBias = bias;
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public bool HasBias { get; }

    public Tensor Weight => Get("weight");

    public Tensor? Bias => HasBias ? Get("bias") : null;

    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);

    public override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(HasBias ? "True" : "False")}";
}
