using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Loom.Imaging;
using Loom.Nn;
using Loom.Training;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom show RUN --feature-maps N | --filters | --mistakes [--count K]</c>: pictures of a trained run as PNG grids,
/// written into the run directory unless <c>-o</c> says otherwise.
/// </summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "The run directory (holds config.json and model.safetensors)." };
        var featureMaps = new Option<int?>("--feature-maps") { Description = "Test image N: its activations after each conv block, one row per block, a tile per channel.", HelpName = "N" };
        var filters = new Option<bool>("--filters") { Description = "The first Conv2d's kernels, a tile per filter (colour for 3 input channels)." };
        var mistakes = new Option<bool>("--mistakes") { Description = "Misclassified test images labelled true→predicted." };
        var count = new Option<int>("--count", "-k") { Description = "With --mistakes: show at most this many.", DefaultValueFactory = _ => 64 };
        var output = new Option<string?>("--out", "-o") { Description = "The PNG to write (default in the run directory: feature-maps-N.png, filters.png or mistakes.png)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object describing the picture." };
        var command = new Command("show", "Pictures of a trained run: feature maps of a test image, the first layer's filters, or the test images it gets wrong.")
        {
            run, featureMaps, filters, mistakes, count, output, json,
        };
        command.SetAction(parse =>
        {
            var index = parse.GetValue(featureMaps);
            var modes = (index is null ? 0 : 1) + (parse.GetValue(filters) ? 1 : 0) + (parse.GetValue(mistakes) ? 1 : 0);
            if (modes != 1)
                throw new LoomException($"show: choose {(modes == 0 ? "one" : "only one")} of --feature-maps N, --filters, --mistakes");
            var session = TrainingSession.Open(parse.GetValue(run)!);
            session.LoadWeights();
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var result = new JsonObject();
            string path;
            string summary;
            if (parse.GetValue(filters))
            {
                path = parse.GetValue(output) ?? session.Run.Combine("filters.png");
                var picture = Pictures.WriteFilters(session.Model, path);
                summary = $"{picture.WeightShape[0]} filters of layer {picture.LayerName} (weight {picture.WeightShape})";
                result["layer"] = picture.LayerName;
                result["weight_shape"] = new JsonArray([.. picture.WeightShape.ToArray().Select(d => (JsonNode?)d)]);
                AddSize(result, picture.Layout);
            }
            else
            {
                var test = TestSplit(session);
                var classNames = session.Config.ClassNames.Count > 0 ? session.Config.ClassNames : test.ClassNames;
                if (index is { } n)
                {
                    if (session.Model is not Sequential model)
                        throw new LoomException($"show: feature maps need a Sequential model; this run's is {session.Model.TypeName}");
                    path = parse.GetValue(output) ?? session.Run.Combine($"feature-maps-{n.ToString(CultureInfo.InvariantCulture)}.png");
                    var picture = Pictures.WriteFeatureMaps(model, test, n, classNames, path);
                    summary = $"test image {n} (class {classNames[picture.Label]}, predicted {classNames[picture.Predicted]}): " +
                        string.Join("; ", picture.Blocks.Select(b => $"{b.Label} {b.Output.Shape}"));
                    result["image"] = n;
                    result["label"] = classNames[picture.Label];
                    result["predicted"] = classNames[picture.Predicted];
                    result["blocks"] = new JsonArray([.. picture.Blocks.Select(b => (JsonNode?)new JsonObject
                    {
                        ["layers"] = b.Label,
                        ["shape"] = new JsonArray([.. b.Output.Shape.ToArray().Select(d => (JsonNode?)d)]),
                    })]);
                    AddSize(result, picture.Layout);
                }
                else
                {
                    path = parse.GetValue(output) ?? session.Run.Combine("mistakes.png");
                    var picture = Pictures.WriteMistakes(session.Model, test, parse.GetValue(count), classNames, path);
                    var accuracy = 1 - ((double)picture.Mistakes.Count / picture.TestCount);
                    summary = $"{picture.Mistakes.Count} mistakes among {picture.TestCount} test images (accuracy {accuracy.ToString("P2", CultureInfo.InvariantCulture)}), {picture.Shown} shown";
                    result["mistakes"] = picture.Mistakes.Count;
                    result["test_count"] = picture.TestCount;
                    result["shown"] = new JsonArray([.. picture.Mistakes.Take(picture.Shown).Select(m => (JsonNode?)new JsonObject
                    {
                        ["index"] = m.Index,
                        ["label"] = classNames[m.Label],
                        ["predicted"] = classNames[m.Predicted],
                    })]);
                    AddSize(result, picture.Layout);
                }
            }
            if (!PictureFonts.Available) stderr.WriteLine($"loom: warning: {PictureFonts.MissingFontsMessage}");
            var full = Path.GetFullPath(path);
            if (parse.GetValue(json))
            {
                var o = new JsonObject { ["path"] = full };
                foreach (var (key, value) in result.ToList())
                {
                    result.Remove(key);
                    o[key] = value;
                }
                stdout.WriteLine(o.ToJsonString());
            }
            else
            {
                stdout.WriteLine($"wrote {full}: {summary}");
            }
            return 0;
        });
        return command.WithExamples(
            "loom show runs/20261127-170000 --feature-maps 0",
            "loom show runs/20261127-170000 --filters -o filters.png",
            "loom show runs/20261127-170000 --mistakes --count 32");
    }

    private static Data.ImageDataset TestSplit(TrainingSession session) =>
        session.Data is ImageClassificationData images
            ? images.Splits.Test
            : throw new LoomException($"show: pictures need an image dataset; this run's data '{session.Data.Name}' is not one");

    private static void AddSize(JsonObject o, GridLayout layout)
    {
        o["width"] = layout.Width;
        o["height"] = layout.Height;
    }
}
