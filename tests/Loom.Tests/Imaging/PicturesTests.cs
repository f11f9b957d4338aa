using Loom.Data;
using Loom.Imaging;
using Loom.Nn;
using Loom.Tests.Data;

namespace Loom.Tests.Imaging;

public sealed class PicturesTests : IDisposable
{
    private static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Two conv blocks, the second without pooling: conv relu maxpool | conv relu | flatten linear.</summary>
    private static Sequential TwoBlockModel(int secondChannels = 6)
    {
        var g = new Generator(3);
        return new Sequential(
            new Conv2d(1, 4, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(4, secondChannels, 3, padding: 1, generator: g), new ReLU(),
            new Flatten(), new Linear(secondChannels * 14 * 14, 10, generator: g));
    }

    /// <summary>Normalised random 1×28×28 "images" with labels 0, 1, 2, …</summary>
    private static ImageDataset RandomImages(int count, int channels = 1)
    {
        var rng = new Random(5);
        var pixels = new float[count * channels * 28 * 28];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (float)rng.NextDouble();
        var raw = new ImageDataset("random/test", pixels, [.. Enumerable.Range(0, count).Select(i => i % 10)], channels, 28, 28, Digits);
        return raw.Normalized(raw.ComputeNormalization());
    }

    [Fact]
    public void Blocks_run_from_each_conv_to_the_last_image_shaped_layer_before_the_next()
    {
        var model = TwoBlockModel();
        var image = Tensor.Wrap(RandomImages(1).Image(0).ToArray(), new Shape(1, 28, 28));
        var (blocks, logits) = FeatureMaps.Capture(model, image);
        Assert.Equal(["layers 0–2: Conv2d → ReLU → MaxPool2d", "layers 3–4: Conv2d → ReLU"], blocks.Select(b => b.Label));
        Assert.Equal([new Shape(4, 14, 14), new Shape(6, 14, 14)], blocks.Select(b => b.Output.Shape));
        Assert.True(model.Training, "Capture puts the model back in training mode");
        // Layer by layer is the model: the captured output equals a plain forward pass in eval mode.
        model.Eval();
        Assert.Equal(model.Forward(Functional.Reshape(image, 1, 1, 28, 28)).ToArray(), logits.ToArray());
    }

    [Fact]
    public void A_residual_block_is_one_block_and_global_pooling_ends_the_last()
    {
        var g = new Generator(4);
        var model = new Sequential(
            new Conv2d(1, 4, 3, padding: 1, generator: g), new BatchNorm2d(4), new ReLU(),
            new BasicBlock(4, 8, stride: 2, generator: g), new AdaptiveAvgPool2d((1, 1)), new Flatten(), new Linear(8, 10, generator: g));
        var (blocks, logits) = FeatureMaps.Capture(model, Tensor.Wrap(RandomImages(1).Image(0).ToArray(), new Shape(1, 28, 28)));
        Assert.Equal(["layers 0–2: Conv2d → BatchNorm2d → ReLU", "layer 3: BasicBlock"], blocks.Select(b => b.Label));
        Assert.Equal([new Shape(4, 28, 28), new Shape(8, 14, 14)], blocks.Select(b => b.Output.Shape));
        Assert.Equal(new Shape(1, 10), logits.Shape);
    }

    [Fact]
    public void Feature_map_grid_has_the_input_then_a_row_per_block_with_a_tile_per_channel()
    {
        var test = RandomImages(3);
        var path = _dir.File("fm.png");
        var picture = Pictures.WriteFeatureMaps(TwoBlockModel(secondChannels: 20), test, 2, Digits, path);
        var layout = picture.Layout;
        Assert.Equal([1, 4, 20], layout.Sections.Select(s => s.Tiles));
        // 20 channels wrap at 16 tiles per line.
        Assert.Equal([1, 1, 2], layout.Sections.Select(s => s.Lines));
        Assert.Equal([1, 4, 16], layout.Sections.Select(s => s.Columns));
        Assert.StartsWith("input: test image 2 of random/test, class 2, predicted ", layout.Sections[0].Title, StringComparison.Ordinal);
        Assert.Equal("layers 3–4: Conv2d → ReLU  [20, 14, 14]", layout.Sections[2].Title);
        Assert.Equal(2, picture.Label);
        ImageAssert.Png(path, layout.Width, layout.Height);
        // The size follows from the channels: with 4 channels in the second block the picture is one line (a cell and
        // a gap) shorter.
        var narrow = Pictures.WriteFeatureMaps(TwoBlockModel(secondChannels: 4), test, 2, Digits, _dir.File("fm4.png")).Layout;
        Assert.Equal([1, 4, 4], narrow.Sections.Select(s => s.Tiles));
        Assert.Equal(layout.Height - layout.Sections[2].CellHeight - 4, narrow.Height);
    }

    [Fact]
    public void Feature_maps_of_a_model_without_convolutions_or_a_bad_index_are_errors()
    {
        var test = RandomImages(3);
        var mlp = new Sequential(new Flatten(), new Linear(784, 10, generator: new Generator(1)));
        var e = Assert.Throws<LoomException>(() => Pictures.WriteFeatureMaps(mlp, test, 0, Digits, _dir.File("x.png")));
        Assert.Equal("show: the model has no Conv2d layer (Flatten, Linear); feature maps need a convolutional model", e.Message);
        e = Assert.Throws<LoomException>(() => Pictures.WriteFeatureMaps(TwoBlockModel(), test, 3, Digits, _dir.File("x.png")));
        Assert.Equal("show: test image 3 is out of range: random/test has 3 test images (0..2)", e.Message);
        e = Assert.Throws<LoomException>(() => Pictures.WriteFilters(mlp, _dir.File("x.png")));
        Assert.Equal("show: the model has no Conv2d layer (Flatten, Linear); --filters shows the first convolution's kernels", e.Message);
        Assert.False(File.Exists(_dir.File("x.png")));
    }

    [Fact]
    public void Filters_are_a_tile_per_kernel_in_colour_for_rgb_inputs()
    {
        var g = new Generator(2);
        var rgb = new Sequential(new Conv2d(3, 5, 3, generator: g), new ReLU());
        var path = _dir.File("rgb.png");
        var picture = Pictures.WriteFilters(rgb, path);
        Assert.Equal(new Shape(5, 3, 3, 3), picture.WeightShape);
        Assert.Equal("0", picture.LayerName);
        var section = Assert.Single(picture.Layout.Sections);
        Assert.Equal(5, section.Tiles);
        Assert.Equal("layer 0 (Conv2d) weight [5, 3, 3, 3]: 5 filters (RGB)", section.Title);
        var bitmap = ImageAssert.Png(path, picture.Layout.Width, picture.Layout.Height);
        var coloured = false;
        for (var y = 0; y < bitmap.Height && !coloured; y++)
            for (var x = 0; x < bitmap.Width && !coloured; x++)
            {
                var p = bitmap.GetPixel(x, y);
                coloured = Math.Abs(p.Red - p.Green) > 40 || Math.Abs(p.Green - p.Blue) > 40;
            }
        Assert.True(coloured, "RGB kernels should be drawn in colour");

        // Two input channels: a section per filter, a tile per input channel.
        var two = new Sequential(new Conv2d(2, 3, 3, generator: g));
        var layout = Pictures.WriteFilters(two, _dir.File("two.png")).Layout;
        Assert.Equal([2, 2, 2], layout.Sections.Select(s => s.Tiles));
    }

    [Fact]
    public void Mistakes_are_every_wrong_argmax_in_test_order_captioned_true_to_predicted()
    {
        var test = RandomImages(12);
        // A model that always says "3": every image whose label is not 3 is a mistake.
        var linear = new Linear(784, 10, generator: new Generator(1));
        var bias = new float[10];
        bias[3] = 1;
        linear.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.Zeros(10, 784), ["bias"] = Tensor.Wrap(bias, new Shape(10)) });
        var model = new Sequential(new Flatten(), linear);
        var path = _dir.File("mistakes.png");
        string[] names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
        var picture = Pictures.WriteMistakes(model, test, 4, names, path);
        int[] expected = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11];
        Assert.Equal(expected, picture.Mistakes.Select(m => m.Index));
        Assert.All(picture.Mistakes, m => Assert.Equal(3, m.Predicted));
        Assert.Equal(4, picture.Shown);
        Assert.Equal(12, picture.TestCount);
        var section = Assert.Single(picture.Layout.Sections);
        Assert.Equal(4, section.Tiles);
        Assert.Equal("mistakes (true→predicted): 11 of 12 test images of random/test, the first 4 shown", section.Title);
        Assert.Equal("zero→three", Pictures.Caption(names, picture.Mistakes[0]));
        ImageAssert.Png(path, picture.Layout.Width, picture.Layout.Height);
        var e = Assert.Throws<LoomException>(() => Pictures.WriteMistakes(model, test, 0, names, path));
        Assert.Equal("show: --count must be positive, found 0", e.Message);
    }

    [Fact]
    public void Grid_size_follows_the_layout()
    {
        var tiles = Enumerable.Range(0, 7).Select(_ => new GridTile(new float[5 * 4], 1, 5, 4)).ToList();
        var grid = new TileGrid { MaxColumns = 3, TargetTileSize = 20 };
        var layout = grid.Write([new GridSection("seven", tiles)], _dir.File("g.png"));
        var s = Assert.Single(layout.Sections);
        Assert.Equal((7, 3, 3, 4), (s.Tiles, s.Columns, s.Lines, s.Scale));
        Assert.Equal(5 * 4, s.CellHeight);
        ImageAssert.Png(_dir.File("g.png"), layout.Width, layout.Height);
        var e = Assert.Throws<LoomException>(() => grid.Write([new GridSection("bad", [new GridTile(new float[3], 2, 1, 1)])], _dir.File("bad.png")));
        Assert.Contains("channels must be 1 or 3", e.Message, StringComparison.Ordinal);
        Assert.Throws<LoomException>(() => grid.Write([new GridSection("svg", tiles)], _dir.File("g.svg")));
    }
}
