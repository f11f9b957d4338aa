using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Loom.Nn.Spec;
using Spectre.Console;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom summary SPEC --input CxHxW</c>: builds the model a spec describes (the same builder <c>loom train --model</c>
/// uses) and prints each layer's output shape, parameter count and receptive field, as torchinfo does.
/// </summary>
internal static class SummaryCommand
{
    public const string Example = "conv(32,3,p=1) relu maxpool(2) conv(64,3,p=1) relu maxpool(2) flatten linear(128) relu linear(10)";

    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "The model, as layers separated by spaces (grammar below)." };
        var input = new Option<string>("--input", "-i") { Description = "One input's shape without the batch axis: CxHxW, CxL or F.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: layers, output (without the batch axis), total_params." };
        var command = new Command("summary", "Layer-by-layer output shapes, parameters and receptive fields of a model spec.\n\n" + ModelBuilder.Grammar)
        {
            spec,
            input,
            json,
        };
        command.SetAction(parse =>
        {
            var text = parse.GetValue(input) ?? "";
            var rank = text.Split('x', 'X', '×').Length;
            if (rank is < 1 or > 3) throw new LoomException($"--input: expected CxHxW, CxL or F, found '{text}'");
            var dims = SizeParser.Parse(text, "--input", rank switch { 3 => "CxHxW", 2 => "CxL", _ => "F" }, rank);
            var built = ModelBuilder.Build(parse.GetValue(spec) ?? "", new Shape(dims));
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) WriteJson(built, stdout);
            else WriteTable(built, stdout);
            return 0;
        });
        return command.WithExamples($"loom summary \"{Example}\" --input 1x28x28",
            "loom summary \"conv(16,3,p=same) bn relu res(conv(16,3,p=1) bn relu conv(16,3,p=1) bn) basic(32,s=2) gap flatten linear(10)\" --input 3x32x32 --json");
    }

    private static void WriteTable(BuiltModel built, TextWriter stdout)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 120;
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Layer").AddColumn("Spec").AddColumn(new TableColumn("Output shape").RightAligned())
            .AddColumn(new TableColumn("Params").RightAligned()).AddColumn(new TableColumn("Receptive field").RightAligned());
        table.AddRow("input", "", Markup.Escape(ShapeText(built.InputShape)), "", "1");
        foreach (var layer in built.Layers)
        {
            table.AddRow(Markup.Escape($"{layer.Key} {layer.Module.TypeName}"), Markup.Escape(layer.Spec.Text), Markup.Escape(ShapeText(layer.OutputShape)),
                layer.Parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(FieldText(layer)));
        }
        console.Write(table);
        stdout.WriteLine($"Total parameters: {built.TotalParameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}");
        stdout.WriteLine($"Output: {ShapeText(built.OutputShape)} per input");
    }

    private static void WriteJson(BuiltModel built, TextWriter stdout)
    {
        var layers = new JsonArray();
        foreach (var layer in built.Layers)
        {
            layers.Add(new JsonObject
            {
                ["index"] = int.Parse(layer.Key, System.Globalization.CultureInfo.InvariantCulture),
                ["type"] = layer.Module.TypeName,
                ["spec"] = layer.Spec.Text,
                ["input"] = Array(layer.InputShape.Dims.ToArray()),
                ["output"] = Array(layer.OutputShape.Dims.ToArray()),
                ["params"] = layer.Parameters,
                ["receptive_field"] = Array(layer.ReceptiveField.Select(r => r.Size)),
                ["jump"] = Array(layer.ReceptiveField.Select(r => r.Jump)),
            });
        }
        var root = new JsonObject
        {
            ["input"] = Array(built.InputShape.Dims.ToArray()),
            ["layers"] = layers,
            ["output"] = Array(built.OutputShape.Dims.ToArray()),
            ["total_params"] = built.TotalParameters,
        };
        stdout.WriteLine(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private static string ShapeText(Shape s) => "[" + string.Join(", ", s.Dims.ToArray()) + "]";

    private static string FieldText(BuiltLayer layer)
    {
        var sizes = layer.ReceptiveField.Select(r => r.Size).Distinct().ToArray();
        return string.Join("x", layer.ReceptiveField.Select(r => r.Size).Take(sizes.Length == 1 ? 1 : layer.ReceptiveField.Count));
    }

    private static JsonArray Array(IEnumerable<int> values) => [.. values.Select(v => (JsonNode)v)];
}
