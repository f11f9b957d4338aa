using Loom.Interop.Onnx;
using Loom.Interop.Onnx.Proto;
using Loom.Nn;
using Loom.Nn.Spec;
using Loom.Tests.Data;

namespace Loom.Tests.Interop;

/// <summary>
/// <see cref="OnnxExporter"/>: every exported model passes <c>onnx.checker</c> (full check) and gives Loom's outputs in
/// ONNX Runtime within 1e-4, at two batch sizes (and two sequence lengths) through the one file.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Tensor Input(Generator g, params int[] shape) => Tensor.Randn(new Shape(shape), g);

    [Fact]
    public void SmallCnnRunsInOnnxRuntimeAtTwoBatchSizes()
    {
        var g = new Generator(1);
        var model = ModelBuilder.Build(Presets.Resolve("smallcnn", 10), new Shape(1, 28, 28), g).Model;
        var worst = OnnxCheck.ExportAndCompare(model, new Shape(1, 28, 28), _dir.File("smallcnn.onnx"), Input(g, 1, 1, 28, 28), Input(g, 5, 1, 28, 28));
        Assert.InRange(worst, 0, OnnxCheck.Tolerance);
    }

    [Fact]
    public void ResnetSmallWithTrainedBatchNormStatisticsRunsInOnnxRuntime()
    {
        var g = new Generator(2);
        var model = ModelBuilder.Build(Presets.Resolve("resnet-small", 10), new Shape(3, 16, 16), g).Model;
        OnnxCheck.RandomizeBatchNorms(model, g);
        OnnxCheck.ExportAndCompare(model, new Shape(3, 16, 16), _dir.File("resnet.onnx"), Input(g, 1, 3, 16, 16), Input(g, 4, 3, 16, 16));
    }

    [Theory]
    [InlineData("lstm", 1, false)]
    [InlineData("gru", 1, false)]
    [InlineData("rnn", 1, false)]
    [InlineData("rnn-relu", 1, false)]
    [InlineData("lstm", 2, true)]
    [InlineData("gru", 2, true)]
    [InlineData("rnn", 2, true)]
    public void SequenceClassifierRunsInOnnxRuntimeAtTwoBatchSizesAndLengths(string kind, int layers, bool bidirectional)
    {
        var g = new Generator(3);
        var options = new RecurrentOptions(5, 7) { NumLayers = layers, Bidirectional = bidirectional, BatchFirst = true };
        Module rnn = kind switch
        {
            "lstm" => new Lstm(options, g),
            "gru" => new Gru(options, g),
            "rnn" => new Rnn(options, RnnNonlinearity.Tanh, g),
            _ => new Rnn(options, RnnNonlinearity.Relu, g),
        };
        var model = new SequenceClassifier(rnn, 4, generator: g);
        var path = _dir.File($"{kind}-{layers}-{bidirectional}.onnx");
        OnnxCheck.ExportAndCompare(model, new Shape(6, 5), path, Input(g, 1, 6, 5), Input(g, 3, 9, 5));
        var input = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Input[0].Type.TensorType.Shape.Dim;
        Assert.Equal(["batch", "sequence"], input.Take(2).Select(d => d.DimParam));
        Assert.Equal(5, input[2].DimValue);
    }

    [Fact]
    public void PerStepGruClassifierKeepsTheTimeAxis()
    {
        var g = new Generator(4);
        var model = new SequenceClassifier(new Gru(new RecurrentOptions(3, 6) { BatchFirst = true }, g), 5, perStep: true, generator: g) { CarryState = true };
        OnnxCheck.ExportAndCompare(model, new Shape(4, 3), _dir.File("perstep.onnx"), Input(g, 2, 4, 3), Input(g, 3, 7, 3));
    }

    [Fact]
    public void ConvolutionsPoolingActivationsAndResidualsMatchOnnxRuntime()
    {
        var g = new Generator(5);
        var model = new Sequential(
            new Conv2d(3, 8, (3, 2), new Conv2dOptions { Stride = (2, 1), Padding = (1, 2, 0, 1), Dilation = (1, 2) }, generator: g),
            new BatchNorm2d(8),
            new LeakyReLU(0.2),
            new Conv2d(8, 8, 3, padding: 1, groups: 4, generator: g),
            new GELU(),
            new MaxPool2d(new MaxPool2dOptions((3, 3)) { Stride = (2, 2), Padding = (1, 1), CeilMode = true }),
            new Residual(new Sequential(new Conv2d(8, 8, 3, padding: 1, bias: false, generator: g), new Tanh())),
            new Residual(new Sequential(new Conv2d(8, 4, 1, generator: g), new Sigmoid()), new Conv2d(8, 4, 1, generator: g)),
            new AvgPool2d(new AvgPool2dOptions((3, 3)) { Stride = (1, 1), Padding = (1, 1), CountIncludePad = false }),
            new GELU(tanhApproximation: true),
            new AdaptiveAvgPool2d(2),
            new Dropout(0.3),
            new Flatten(),
            new Linear(16, 6, generator: g),
            new Identity(),
            new Softmax());
        OnnxCheck.RandomizeBatchNorms(model, g);
        OnnxCheck.ExportAndCompare(model, new Shape(3, 13, 11), _dir.File("layers.onnx"), Input(g, 1, 3, 13, 11), Input(g, 3, 3, 13, 11));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void AveragePoolingCeilModeAndPaddingCountMatchOnnxRuntime(bool ceil, bool includePad)
    {
        var g = new Generator(6);
        var model = new Sequential(new AvgPool2d(new AvgPool2dOptions((3, 3)) { Stride = (2, 2), Padding = (1, 1), CeilMode = ceil, CountIncludePad = includePad }));
        OnnxCheck.ExportAndCompare(model, new Shape(2, 8, 9), _dir.File("avg.onnx"), Input(g, 1, 2, 8, 9), Input(g, 2, 2, 8, 9));
    }

    [Fact]
    public void OneDimensionalLayersAndTransposedConvolutionMatchOnnxRuntime()
    {
        var g = new Generator(7);
        var seq = new Sequential(
            new Conv1d(2, 6, 3, new Conv1dOptions { Stride = 2, Padding = (2, 1), Dilation = 1 }, generator: g),
            new BatchNorm1d(6),
            new ReLU(),
            new MaxPool1d(2, ceilMode: true),
            new AvgPool1d(2, 1, 1, countIncludePad: false),
            new Flatten(),
            new Linear(36, 3, generator: g));
        OnnxCheck.RandomizeBatchNorms(seq, g);
        OnnxCheck.ExportAndCompare(seq, new Shape(2, 17), _dir.File("conv1d.onnx"), Input(g, 1, 2, 17), Input(g, 4, 2, 17));

        var up = new Sequential(
            new ConvTranspose2d(3, 4, (3, 3), new ConvTranspose2dOptions { Stride = (2, 2), Padding = (1, 1, 1, 1), OutputPadding = (1, 0) }, generator: g),
            new Flatten(2, 3));
        OnnxCheck.ExportAndCompare(up, new Shape(3, 5, 4), _dir.File("up.onnx"), Input(g, 1, 3, 5, 4), Input(g, 2, 3, 5, 4));
    }

    [Fact]
    public void TheGraphHasOpset17ADynamicBatchAxisAndNamedInitializers()
    {
        var model = ModelBuilder.Build(Presets.Resolve("smallcnn", 10), new Shape(1, 28, 28), new Generator(8)).Model;
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ToBytes(model, new Shape(1, 28, 28)));
        Assert.Equal(OnnxExporter.IrVersion, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(["batch", "1", "28", "28"], input.Type.TensorType.Shape.Dim.Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var output = Assert.Single(proto.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(10, output.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"], proto.Graph.Node.Select(n => n.OpType));
        // The weights keep their state-dict names and values.
        var w = proto.Graph.Initializer.Single(t => t.Name == "0.weight");
        Assert.Equal([32L, 1, 3, 3], w.Dims);
        var expected = model.StateDict()["0.weight"].ToArray();
        Assert.Equal(expected, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(w.RawData.Span).ToArray());
        Assert.True(model.Training, "export restores training mode");
    }

    [Fact]
    public void LstmGatesAreReorderedFromPyTorchsIfgoToOnnxsIofc()
    {
        // One hidden unit: the four gate rows of weight_ih are the PyTorch blocks i, f, g, o; ONNX wants i, o, f, c(=g).
        var lstm = new Lstm(new RecurrentOptions(1, 1) { BatchFirst = true });
        lstm.WeightIh(0).CopyFrom(Tensor.FromArray([1f, 2, 3, 4], 4, 1));
        lstm.BiasIh(0)!.CopyFrom(Tensor.FromArray([10f, 20, 30, 40], 4));
        lstm.BiasHh(0)!.CopyFrom(Tensor.FromArray([100f, 200, 300, 400], 4));
        var graph = OnnxExporter.ToModel(new SequenceClassifier(lstm, 2), new Shape(3, 1)).Graph;
        float[] Values(string name) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(graph.Initializer.Single(t => t.Name == name).RawData.Span).ToArray();
        Assert.Equal([1f, 4, 2, 3], Values("rnn.W_l0"));
        Assert.Equal([10f, 40, 20, 30, 100, 400, 200, 300], Values("rnn.B_l0"));

        var gru = new Gru(new RecurrentOptions(1, 1) { BatchFirst = true });
        gru.WeightIh(0).CopyFrom(Tensor.FromArray([1f, 2, 3], 3, 1));
        graph = OnnxExporter.ToModel(new SequenceClassifier(gru, 2), new Shape(3, 1)).Graph;
        Assert.Equal([2f, 1, 3], Values("rnn.W_l0")); // PyTorch r, z, n → ONNX z, r, h
        Assert.Equal(1, graph.Node.Single(n => n.OpType == "GRU").Attribute.Single(a => a.Name == "linear_before_reset").I);
    }

    [Fact]
    public void AFloat64ModelIsExportedInFloat32()
    {
        var g = new Generator(9);
        var model = new Sequential(new Conv2d(2, 3, 3, padding: 1, generator: g), new BatchNorm2d(3), new ReLU(), new Flatten(), new Linear(48, 4, generator: g));
        OnnxCheck.RandomizeBatchNorms(model, g);
        model.To(DType.Float64);
        var path = _dir.File("f64.onnx");
        OnnxCheck.ExportAndCompare(model, new Shape(2, 4, 4), path, Input(g, 1, 2, 4, 4).Double(), Input(g, 3, 2, 4, 4).Double());
        Assert.All(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Initializer.Where(t => t.Name.EndsWith("weight", StringComparison.Ordinal)),
            t => Assert.Equal((int)TensorProto.Types.DataType.Float, t.DataType));
    }

    [Fact]
    public void ASampleShapeTheModelCannotTakeIsNamed()
    {
        var model = ModelBuilder.Build(Presets.Resolve("smallcnn", 10), new Shape(1, 28, 28), new Generator(10)).Model;
        var e = Assert.Throws<LoomException>(() => OnnxExporter.ToModel(model, new Shape(3, 28, 28)));
        Assert.StartsWith("onnx export: Sequential cannot take samples of shape [3, 28, 28] (input [1, 3, 28, 28] with the batch axis):", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedLayersAreNamedInTheError()
    {
        var gated = new SequenceClassifier(new GatedRnn(3, 4, batchFirst: true), 2);
        var e = Assert.Throws<LoomException>(() => OnnxExporter.ToModel(gated, new Shape(5, 3)));
        Assert.Contains("layer rnn (GatedRNN)", e.Message, StringComparison.Ordinal);

        var adaptive = new Sequential(new Conv2d(1, 2, 3), new AdaptiveAvgPool2d(4));
        e = Assert.Throws<LoomException>(() => OnnxExporter.ToModel(adaptive, new Shape(1, 9, 9)));
        Assert.Contains("layer 1 (AdaptiveAvgPool2d)", e.Message, StringComparison.Ordinal);
        Assert.Contains("7x7", e.Message, StringComparison.Ordinal);

        var batchStats = new Sequential(new BatchNorm2d(2, trackRunningStats: false));
        e = Assert.Throws<LoomException>(() => OnnxExporter.ToModel(batchStats, new Shape(2, 3, 3)));
        Assert.Contains("layer 0 (BatchNorm2d)", e.Message, StringComparison.Ordinal);
    }
}
