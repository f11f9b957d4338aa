namespace Loom.Nn;

/// <summary>
/// Applies its layers in order. Children are named "0", "1", … so state-dict keys equal those of
/// <c>torch.nn.Sequential</c> over the same layer list (parameterless layers count too).
/// </summary>
/// <example><code>var model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2)); // keys 0.weight … 2.bias</code></example>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    public Sequential(params IEnumerable<Module> layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Appends a layer named by its position.</summary>
    public Sequential Add(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    public IReadOnlyList<Module> Layers => _layers;

    public int Count => _layers.Count;

    public Module this[int index] => _layers[index];

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
