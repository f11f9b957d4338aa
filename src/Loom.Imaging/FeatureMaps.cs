using Loom.Nn;

namespace Loom.Imaging;

/// <summary>
/// The activation at the end of one convolutional block for one image: layers <paramref name="FirstLayer"/> to
/// <paramref name="LastLayer"/> of the model (a <see cref="Sequential"/>), <paramref name="Output"/> shaped [C, H, W].
/// </summary>
/// <param name="Label">E.g. <c>layers 0–2: Conv2d → ReLU → MaxPool2d</c>.</param>
/// <param name="FirstLayer">Index of the block's convolution-bearing layer.</param>
/// <param name="LastLayer">Index of the block's last layer (whose output this is).</param>
/// <param name="Output">The activation [C, H, W] (the batch axis of one is dropped).</param>
public sealed record BlockActivation(string Label, int FirstLayer, int LastLayer, Tensor Output);

/// <summary>
/// Runs a <see cref="Sequential"/> model layer by layer on one image and keeps the activation after each
/// convolutional block.
/// </summary>
/// <remarks>
/// A block starts at every layer that is or contains a <see cref="Conv2d"/> (a residual block counts as one layer)
/// and takes in the layers after it — activation, batch norm, pooling, dropout — up to the next such layer or the
/// first layer whose output is no longer an image [N, C, H, W] larger than 1×1 (e.g. <see cref="Flatten"/>, or a
/// global average pool). For
/// <c>conv(32,3,p=1) relu maxpool(2) conv(64,3,p=1) relu maxpool(2) flatten …</c> on 1×28×28 that gives two blocks:
/// layers 0–2 → [32, 14, 14] and layers 3–5 → [64, 7, 7]. Layers before the first convolution form no block.
/// The model runs in evaluation mode (batch norm uses its running statistics), without recording gradients.
/// </remarks>
/// <example>
/// <code>
/// var blocks = FeatureMaps.Capture((Sequential)session.Model, image);   // image [1, 28, 28]
/// foreach (var b in blocks) Console.WriteLine($"{b.Label} {b.Output.Shape}");
/// </code>
/// </example>
public static class FeatureMaps
{
    /// <summary>True when <paramref name="module"/> is or contains a <see cref="Conv2d"/>.</summary>
    public static bool HasConv2d(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.NamedModules().Any(m => m.Value is Conv2d);
    }

    /// <summary>
    /// The activations after each convolutional block for <paramref name="image"/> ([C, H, W] or [1, C, H, W]), and the
    /// model's output (logits [1, classes]) from running all layers.
    /// </summary>
    public static (IReadOnlyList<BlockActivation> Blocks, Tensor Logits) Capture(Sequential model, Tensor image)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        if (!model.Layers.Any(HasConv2d))
            throw new LoomException($"show: the model has no Conv2d layer ({string.Join(", ", model.Layers.Select(l => l.TypeName))}); feature maps need a convolutional model");
        var x = image.Rank switch
        {
            3 => Functional.Reshape(image, 1, image.Shape[0], image.Shape[1], image.Shape[2]),
            4 when image.Shape[0] == 1 => image,
            _ => throw new LoomException($"show: expected one image [C, H, W], found {image.Shape}"),
        };
        var wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            var blocks = new List<BlockActivation>();
            int start = -1;
            Tensor? last = null;
            for (var i = 0; i < model.Count; i++)
            {
                var layer = model[i];
                var startsBlock = HasConv2d(layer);
                if (startsBlock && start >= 0) Close(i - 1);
                x = layer.Forward(x);
                if (startsBlock) start = i;
                if (start < 0) continue;
                // Flatten, or a global pooling down to 1×1, ends the block: what follows is the classifier.
                if (x.Rank != 4 || x.Shape[2] * x.Shape[3] == 1)
                {
                    Close(i - 1);
                    continue;
                }
                last = x;
            }
            if (start >= 0) Close(model.Count - 1);
            return (blocks, x);

            void Close(int end)
            {
                if (start >= 0 && last is not null)
                {
                    var names = string.Join(" → ", Enumerable.Range(start, end - start + 1).Select(k => model[k].TypeName));
                    var label = start == end ? $"layer {start}: {names}" : $"layers {start}–{end}: {names}";
                    var shape = last.Shape;
                    blocks.Add(new BlockActivation(label, start, end, Functional.Reshape(last, shape[1], shape[2], shape[3])));
                }
                start = -1;
                last = null;
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
