using System.CommandLine;
using System.Text.Json.Nodes;
using Loom.Interop.Onnx;
using Loom.Training;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom export onnx RUN [-o model.onnx]</c>: writes a trained run's model as an ONNX file (opset 17, dynamic batch
/// axis) for ONNX Runtime and other ONNX tools.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "Export a trained run's model to another format.") { Onnx() };
        return command.WithExamples("loom export onnx runs/20261127-170000 -o model.onnx");
    }

    private static Command Onnx()
    {
        var run = new Argument<string>("run") { Description = "The run directory (holds config.json and model.safetensors)." };
        var output = new Option<string?>("--out", "-o") { Description = "The .onnx file to write (default: model.onnx in the run directory)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object describing the file." };
        var command = new Command("onnx", $"Write the model as ONNX (opset {OnnxExporter.Opset}): input 'input' [batch, ...], output 'output'; the batch axis (and a sequence model's time axis) is dynamic.")
        {
            run, output, json,
        };
        command.SetAction(parse =>
        {
            var session = TrainingSession.Open(parse.GetValue(run)!);
            session.LoadWeights();
            var path = Path.GetFullPath(parse.GetValue(output) ?? session.Run.Combine("model.onnx"));
            // A sequence task records one step's features [F]; the file's time axis is symbolic ("sequence"), so the
            // exporter's trace takes any length: two steps.
            int[] sample = session.Data is SequenceTaskData ? [2, .. session.Config.InputShape] : [.. session.Config.InputShape];
            var proto = OnnxExporter.Export(session.Model, new Shape(sample), path);
            var graph = proto.Graph;
            var inputDims = Dims(graph.Input[0]);
            var outputDims = Dims(graph.Output[0]);
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                stdout.WriteLine(new JsonObject
                {
                    ["path"] = path,
                    ["opset"] = OnnxExporter.Opset,
                    ["nodes"] = graph.Node.Count,
                    ["initializers"] = graph.Initializer.Count,
                    ["bytes"] = new FileInfo(path).Length,
                    ["input"] = new JsonArray([.. inputDims.Select(d => (JsonNode?)d)]),
                    ["output"] = new JsonArray([.. outputDims.Select(d => (JsonNode?)d)]),
                }.ToJsonString());
            }
            else
            {
                stdout.WriteLine($"wrote {path}: ONNX opset {OnnxExporter.Opset}, {graph.Node.Count} nodes, input [{string.Join(", ", inputDims)}] → output [{string.Join(", ", outputDims)}]");
            }
            return 0;
        });
        return command.WithExamples("loom export onnx runs/20261127-170000 -o model.onnx", "loom export onnx runs/lstm-echo --json");
    }

    private static string[] Dims(Interop.Onnx.Proto.ValueInfoProto value) =>
        [.. value.Type.TensorType.Shape.Dim.Select(d => d.ValueCase == Interop.Onnx.Proto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
