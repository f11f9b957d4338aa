using Loom.Data;
using Loom.Nn;

namespace Loom.Imaging;

/// <summary>A written feature-map grid: the layout, the blocks shown, and the model's prediction for the image.</summary>
/// <param name="Layout">The picture's size and sections (the input first, then one per block).</param>
/// <param name="Blocks">The convolutional blocks, in order.</param>
/// <param name="Label">The image's true class.</param>
/// <param name="Predicted">The class the model predicts for it.</param>
public sealed record FeatureMapPicture(GridLayout Layout, IReadOnlyList<BlockActivation> Blocks, int Label, int Predicted);

/// <summary>A written filter grid: the layout and the convolution shown.</summary>
/// <param name="Layout">The picture's size and sections.</param>
/// <param name="LayerName">The convolution's name in the model (its state-dict prefix, e.g. <c>0</c>).</param>
/// <param name="WeightShape">Its weight's shape [out, in/groups, kH, kW].</param>
public sealed record FilterPicture(GridLayout Layout, string LayerName, Shape WeightShape);

/// <summary>One misclassified test image.</summary>
/// <param name="Index">Its index in the test split.</param>
/// <param name="Label">Its true class.</param>
/// <param name="Predicted">The model's class (the argmax of the logits, as accuracy counts it).</param>
public sealed record Mistake(int Index, int Label, int Predicted);

/// <summary>A written mistakes grid: every mistake found (the grid shows the first <c>shown</c>) out of how many images.</summary>
/// <param name="Layout">The picture's size and sections.</param>
/// <param name="Mistakes">All misclassified test images, in test-set order.</param>
/// <param name="Shown">How many of them the grid shows (the first ones).</param>
/// <param name="TestCount">The number of test images examined.</param>
public sealed record MistakesPicture(GridLayout Layout, IReadOnlyList<Mistake> Mistakes, int Shown, int TestCount);

/// <summary>
/// The pictures of <c>loom show</c>: a trained model's feature maps for one test image, its first convolution's
/// filters, and the test images it gets wrong — each a PNG grid (<see cref="TileGrid"/>).
/// </summary>
/// <remarks>
/// Every channel of an activation or kernel is shown min–max normalised on its own (black = its smallest value,
/// white = its largest; a constant channel is black), so the pictures show patterns, not magnitudes. Input images
/// are shown as the model's data before normalisation (the dataset's mean and std undone, clamped to [0, 1]).
/// </remarks>
public static class Pictures
{
    /// <summary>Writes the activations after each convolutional block (<see cref="FeatureMaps.Capture"/>) for test image <paramref name="index"/>.</summary>
    public static FeatureMapPicture WriteFeatureMaps(Sequential model, ImageDataset test, int index, IReadOnlyList<string> classNames, string path, TileGrid? grid = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(classNames);
        CheckIndex(test, index);
        var image = Tensor.Wrap(test.Image(index).ToArray(), test.ImageShape);
        var (blocks, logits) = FeatureMaps.Capture(model, image);
        var predicted = ArgMax(logits.ToArray());
        var label = test.Label(index);
        var sections = new List<GridSection>
        {
            new($"input: test image {index} of {test.Name}, class {Name(classNames, label)}, predicted {Name(classNames, predicted)}  {test.ImageShape}",
                [DisplayImage(test, index, null)]),
        };
        foreach (var block in blocks)
        {
            var shape = block.Output.Shape;
            var values = block.Output.ToArray();
            var plane = shape[1] * shape[2];
            var tiles = new List<GridTile>(shape[0]);
            for (var c = 0; c < shape[0]; c++)
                tiles.Add(new GridTile(TileGrid.MinMax(values.AsSpan(c * plane, plane)), 1, shape[1], shape[2]));
            sections.Add(new GridSection($"{block.Label}  {shape}", tiles));
        }
        var layout = (grid ?? new TileGrid()).Write(sections, path);
        return new FeatureMapPicture(layout, blocks, label, predicted);
    }

    /// <summary>
    /// Writes the kernels of the model's first <see cref="Conv2d"/> (depth-first order): one tile per filter, in colour
    /// when it has 3 input channels, in grey when 1; otherwise one section per filter with a tile per input channel.
    /// </summary>
    public static FilterPicture WriteFilters(Module model, string path, TileGrid? grid = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (name, conv) = model.NamedModules().Where(m => m.Value is Conv2d).Select(m => (m.Key, (Conv2d)m.Value)).FirstOrDefault();
        if (conv is null)
        {
            var layers = model is Sequential s ? string.Join(", ", s.Layers.Select(l => l.TypeName)) : model.TypeName;
            throw new LoomException($"show: the model has no Conv2d layer ({layers}); --filters shows the first convolution's kernels");
        }
        var weight = conv.Weight.Detach();
        var shape = weight.Shape;
        var (outC, inC, kh, kw) = (shape[0], shape[1], shape[2], shape[3]);
        var values = weight.ToArray();
        var kernel = inC * kh * kw;
        var title = $"{(name.Length == 0 ? "Conv2d" : $"layer {name} (Conv2d)")} weight {shape}";
        var sections = new List<GridSection>();
        if (inC is 1 or 3)
        {
            var tiles = new List<GridTile>(outC);
            // Colour kernels are normalised over all three channels together, so their hue means something.
            for (var o = 0; o < outC; o++) tiles.Add(new GridTile(TileGrid.MinMax(values.AsSpan(o * kernel, kernel)), inC, kh, kw));
            sections.Add(new GridSection($"{title}: {outC} filters{(inC == 3 ? " (RGB)" : "")}", tiles));
        }
        else
        {
            var plane = kh * kw;
            for (var o = 0; o < outC; o++)
            {
                var tiles = new List<GridTile>(inC);
                for (var i = 0; i < inC; i++) tiles.Add(new GridTile(TileGrid.MinMax(values.AsSpan((o * kernel) + (i * plane), plane)), 1, kh, kw));
                sections.Add(new GridSection(o == 0 ? $"{title}: filter 0, one tile per input channel" : $"filter {o}", tiles));
            }
        }
        var layout = (grid ?? new TileGrid { TargetTileSize = 48 }).Write(sections, path);
        return new FilterPicture(layout, name, shape);
    }

    /// <summary>
    /// Classifies every test image and writes the first <paramref name="count"/> misclassified ones (test-set order),
    /// each captioned <c>true→predicted</c> with <paramref name="classNames"/>.
    /// </summary>
    public static MistakesPicture WriteMistakes(Module model, ImageDataset test, int count, IReadOnlyList<string> classNames, string path, TileGrid? grid = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(classNames);
        if (count <= 0) throw new LoomException($"show: --count must be positive, found {count}");
        var mistakes = FindMistakes(model, test);
        var shown = mistakes.Take(count).ToList();
        var tiles = shown.Select(m => DisplayImage(test, m.Index, Caption(classNames, m))).ToList();
        var title = mistakes.Count == 0
            ? $"no mistakes: all {test.Count} test images of {test.Name} are classified correctly"
            : $"mistakes (true→predicted): {mistakes.Count} of {test.Count} test images of {test.Name}" +
              (shown.Count < mistakes.Count ? $", the first {shown.Count} shown" : "");
        var layout = (grid ?? new TileGrid { MaxColumns = 10, TargetTileSize = 56 }).Write([new GridSection(title, tiles)], path);
        return new MistakesPicture(layout, mistakes, shown.Count, test.Count);
    }

    /// <summary>Every test image whose argmax prediction differs from its label, in test-set order (evaluation mode, no gradients).</summary>
    public static IReadOnlyList<Mistake> FindMistakes(Module model, ImageDataset test, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        var wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            var mistakes = new List<Mistake>();
            for (var start = 0; start < test.Count; start += batchSize)
            {
                var n = Math.Min(batchSize, test.Count - start);
                var indices = Enumerable.Range(start, n).ToArray();
                var (images, labels) = test.Gather(indices);
                var logits = model.Forward(images).ToArray();
                var classes = logits.Length / n;
                var truth = labels.AsIntSpan();
                for (var i = 0; i < n; i++)
                {
                    var predicted = ArgMax(logits.AsSpan(i * classes, classes));
                    if (predicted != truth[i]) mistakes.Add(new Mistake(start + i, truth[i], predicted));
                }
            }
            return mistakes;
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>A mistake's caption, <c>true→predicted</c> by class name (the label number when a name is missing).</summary>
    internal static string Caption(IReadOnlyList<string> classNames, Mistake mistake) =>
        $"{Name(classNames, mistake.Label)}→{Name(classNames, mistake.Predicted)}";

    /// <summary>Image <paramref name="index"/> as the eye should see it: normalisation undone, clamped to [0, 1] (grey or RGB).</summary>
    private static GridTile DisplayImage(ImageDataset data, int index, string? caption)
    {
        var pixels = data.Image(index).ToArray();
        var plane = data.Height * data.Width;
        if (data.Normalization is { } norm)
        {
            for (var c = 0; c < data.Channels; c++)
                for (var p = 0; p < plane; p++) pixels[(c * plane) + p] = Math.Clamp((pixels[(c * plane) + p] * norm.Std[c]) + norm.Mean[c], 0, 1);
        }
        else
        {
            pixels = TileGrid.MinMax(pixels);
        }
        if (data.Channels is 1 or 3) return new GridTile(pixels, data.Channels, data.Height, data.Width, caption);
        // Other channel counts: the first channel in grey.
        return new GridTile(pixels[..plane], 1, data.Height, data.Width, caption);
    }

    private static void CheckIndex(ImageDataset test, int index)
    {
        if ((uint)index >= (uint)test.Count)
            throw new LoomException($"show: test image {index} is out of range: {test.Name} has {test.Count} test images (0..{test.Count - 1})");
    }

    private static string Name(IReadOnlyList<string> classNames, int label) =>
        (uint)label < (uint)classNames.Count ? classNames[label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var k = 1; k < values.Length; k++) if (values[k] > values[best]) best = k;
        return best;
    }
}
