using Google.Protobuf;
using Loom.Interop.Onnx.Proto;
using Loom.Nn;
using Loom.Training;

namespace Loom.Interop.Onnx;

/// <summary>
/// Writes a Loom model as an ONNX file (opset 17, IR version 8) that ONNX Runtime and other ONNX tools run: the
/// model in evaluation mode (batch norm with its running statistics, dropout as identity), float32 weights as
/// initializers, one graph input <c>input</c> of shape <c>[batch, …one sample…]</c> and one output <c>output</c>,
/// the batch axis symbolic (<c>dim_param "batch"</c>), and for recurrent models the time axis too
/// (<c>"sequence"</c>).
/// </summary>
/// <remarks>
/// Supported: <see cref="Sequential"/>, <see cref="Conv1d"/>, <see cref="Conv2d"/>, <see cref="ConvTranspose2d"/>,
/// <see cref="Linear"/>, <see cref="ReLU"/>, <see cref="LeakyReLU"/>, <see cref="Tanh"/>, <see cref="Sigmoid"/>,
/// <see cref="GELU"/> (as Erf or Tanh arithmetic: ONNX's Gelu op needs opset 20), <see cref="Softmax"/>,
/// max and average pooling (1-D and 2-D, ceil mode, count_include_pad), <see cref="AdaptiveAvgPool2d"/> when the
/// output tiles the input evenly, <see cref="BatchNorm1d"/>/<see cref="BatchNorm2d"/> with running statistics,
/// <see cref="Flatten"/>, <see cref="Dropout"/>, <see cref="Identity"/>, <see cref="Residual"/>,
/// <see cref="BasicBlock"/>, batch-first <see cref="Lstm"/>/<see cref="Gru"/>/<see cref="Rnn"/> (any number of
/// layers, bidirectional) and <see cref="SequenceClassifier"/>. Anything else is a <see cref="LoomException"/>
/// naming the layer. A <see cref="SequenceClassifier"/> that carries state between batches is exported as one that
/// starts every sequence from zeros.
/// <example><code>
/// var model = ModelBuilder.Build(Presets.Resolve("smallcnn", 10), new Shape(1, 28, 28)).Model;
/// OnnxExporter.Export(model, new Shape(1, 28, 28), "model.onnx");
/// </code></example>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The ONNX operator set the graphs use.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (the one that goes with opset 17).</summary>
    public const int IrVersion = 8;

    /// <summary>The graph input's name.</summary>
    public const string InputName = "input";

    /// <summary>The graph output's name.</summary>
    public const string OutputName = "output";

    /// <summary>Builds the ONNX model of <paramref name="model"/> for inputs of shape <c>[batch, ..sampleShape]</c>.</summary>
    /// <param name="model">The model; it is put in evaluation mode while exporting and restored afterwards.</param>
    /// <param name="sampleShape">One sample's shape without the batch axis: <c>[C, H, W]</c>, <c>[T, F]</c> for sequences.</param>
    public static ModelProto ToModel(Module model, Shape sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        var training = model.Training;
        model.Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            var graph = new OnnxGraph();
            var recurrent = model.NamedModules().Any(m => m.Value is RecurrentLayer);
            graph.Fresh(InputName);
            // The trace runs in the model's own dtype; the file holds float32 either way.
            var dtype = model.Parameters().FirstOrDefault()?.DType ?? DType.Float32;
            var sample = Tensor.Zeros(new Shape([1, .. sampleShape.Dims]), dtype);
            CheckInput(model, sample, sampleShape);
            var result = new OnnxModuleEmitter(graph).Emit(model, new OnnxValue(InputName, sample), "");

            // The last node's output becomes "output"; a model that is the identity needs a node to have one.
            var final = result.Name == InputName ? graph.Node("Identity", "", [InputName]) : result.Name;
            if (!graph.RenameOutput(final, OutputName))
                throw new InvalidOperationException($"onnx export: no node produces the result '{final}'");
            graph.Proto.Name = model.TypeName;
            graph.Proto.Input.Add(OnnxGraph.FloatValue(InputName, Dims(sample.Shape, recurrent)));
            graph.Proto.Output.Add(OnnxGraph.FloatValue(OutputName, Dims(result.Sample.Shape, recurrent && result.Sample.Rank == 3)));

            var proto = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Loom",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
                ModelVersion = 1,
                DocString = $"{model.TypeName} exported by Loom",
                Graph = graph.Proto,
            };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            return proto;
        }
        finally
        {
            model.Train(training);
        }
    }

    /// <summary>The serialized ONNX model (the bytes of a <c>.onnx</c> file).</summary>
    public static byte[] ToBytes(Module model, Shape sampleShape) => ToModel(model, sampleShape).ToByteArray();

    /// <summary>Writes the ONNX model to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static ModelProto Export(Module model, Shape sampleShape, string path)
    {
        var proto = ToModel(model, sampleShape);
        AtomicFile.Write(path, proto.WriteTo);
        return proto;
    }

    // A shape the model cannot take fails here, in the user's terms, rather than inside the first layer that chokes.
    // A stateful model is not run whole: its forward would change the state it carries.
    private static void CheckInput(Module model, Tensor sample, Shape sampleShape)
    {
        if (model is IStatefulModel) return;
        try
        {
            model.Forward(sample);
        }
        catch (LoomException e)
        {
            throw new LoomException($"onnx export: {model.TypeName} cannot take samples of shape {sampleShape} (input {sample.Shape} with the batch axis): {e.Message}", e);
        }
    }

    // Axis 0 is the batch; axis 1 of a sequence model's [batch, T, F] input or per-step output is the time axis.
    private static object[] Dims(Shape shape, bool sequence) =>
        [.. shape.Dims.ToArray().Select<int, object>((d, i) => i == 0 ? "batch" : i == 1 && sequence ? "sequence" : d)];
}
