using System.Runtime.CompilerServices;
namespace Loom.Nn;

/// <summary>
/// Applies its layers in order. Children are named "0", "1", … so state-dict keys equal those of
/// <c>torch.nn.Sequential</c> over the same layer list (parameterless layers count too).
/// </summary>
/// <remarks>
/// Two things happen underneath, neither visible except as speed and memory (the layers stay separate children for
/// the state dict, summaries, export and feature maps):
/// <list type="bullet">
/// <item>Runs of built-in layers are computed by one fused op (Ops/FusedConv.cs): [Conv2d, ReLU, MaxPool2d],
/// [Conv2d, ReLU] and [ReLU, MaxPool2d] — the same values, without the full-size intermediate tensors.</item>
/// <item>Under <see cref="Autograd.NoGrad"/>, an intermediate tensor made inside this call goes back to the storage
/// pool as soon as the next layer has consumed it, when both layers are built-in ones that keep no reference to their
/// input or output and the next output does not share its values (a Flatten view): inference then holds about two
/// activations at a time instead of all of them.</item>
/// </list>
/// </remarks>
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

    /// <summary>Whether <see cref="Forward"/> may fuse layer runs (tests turn it off to compare with the plain path).</summary>
    internal static bool Fusion { get; set; } = Environment.GetEnvironmentVariable("LOOM_FUSE") != "0";

    /// <summary>Intermediates given back early by forwards on this thread (for tests).</summary>
    [ThreadStatic] internal static int RecycledOnThisThread;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public override Tensor Forward(Tensor input)
    {
        var recycle = !Autograd.IsGradEnabled && StoragePool.Enabled;
        var x = input;
        Module? producer = null; // the layer that made x (null: x is the caller's input)
        for (var i = 0; i < _layers.Count;)
        {
            var (y, used) = Fusion ? FusedForward(i, x) : (null, 0);
            if (y is null) (y, used) = (_layers[i].Forward(x), 1);
            var consumer = _layers[i + used - 1];
            if (recycle && producer is not null && KeepsNoReference(producer) && KeepsNoReference(_layers[i]))
                GiveBackIntermediate(x, input, y);
            (x, producer, i) = (y, consumer, i + used);
        }
        return x;
    }

    /// <summary>
    /// Gives <paramref name="dead"/>'s array back to the storage pool unless it is shared with the block's
    /// <paramref name="input"/> or with <paramref name="successor"/> (a view). Only for an intermediate the caller made
    /// under no-grad, with built-in layers that keep no reference, once its successor has been computed.
    /// </summary>
    internal static void GiveBackIntermediate(Tensor dead, Tensor input, Tensor successor)
    {
        if (ReferenceEquals(dead.Storage, successor.Storage) || ReferenceEquals(dead.Storage, input.Storage) || dead.IsReleased) return;
        var storage = dead.Storage;
        dead.Release();
        StoragePool.Return(storage);
        RecycledOnThisThread++;
    }

    /// <summary>The fused op for the run of layers starting at <paramref name="i"/>, if one applies: its output and
    /// how many layers it covered; (null, 0) otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private (Tensor? Output, int Layers) FusedForward(int i, Tensor x)
    {
        var next = i + 1 < _layers.Count ? _layers[i + 1] : null;
        var third = i + 2 < _layers.Count ? _layers[i + 2] : null;
        switch (_layers[i])
        {
            case Conv2d conv when next is ReLU && third is MaxPool2d pool:
                return (Functional.Conv2dReluMaxPool2d(x, conv.Weight, conv.Bias, conv.Options, pool.Options), 3);
            case Conv2d conv when next is ReLU:
                return (Functional.Conv2dRelu(x, conv.Weight, conv.Bias, conv.Options), 2);
            case ReLU when next is MaxPool2d pool:
                return (Functional.ReluMaxPool2d(x, pool.Options), 2);
            default:
                return (null, 0);
        }
    }

    /// <summary>Built-in layers whose forward neither keeps its input nor hands out a tensor someone else holds (a user
    /// module might cache either). Exact types: all of them are sealed.</summary>
    private static bool KeepsNoReference(Module layer) => layer is Conv1d or Conv2d or ConvTranspose2d or Linear or ReLU or LeakyReLU
        or GELU or Tanh or Sigmoid or Softmax or MaxPool1d or MaxPool2d or AvgPool1d or AvgPool2d or AdaptiveAvgPool2d or Flatten
        or BatchNorm1d or BatchNorm2d or Dropout or Identity;
}
