using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Loom.Training;

namespace Loom.Cli.Commands;

/// <summary><c>loom eval RUN</c>: re-evaluates a saved run's model on its test set (or another dataset of the same shape).</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "The run directory (holds config.json and model.safetensors)." };
        var data = new Option<string?>("--data", "-d") { Description = "Evaluate on another dataset with the same input shape and classes." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder with IDX files, or of class folders for image-folder (images are read with the run's --image-size, --grayscale and --resize from config.json)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("eval", "Evaluate a trained run on its test set.") { run, data, dataDir, json };
        command.SetAction(parse =>
        {
            var session = TrainingSession.Open(parse.GetValue(run)!, parse.GetValue(data), parse.GetValue(dataDir));
            session.LoadWeights();
            var (loss, accuracy) = Metrics.Evaluate(session.Model, session.Data);
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                stdout.WriteLine(new JsonObject { ["test_accuracy"] = accuracy, ["test_loss"] = loss, ["samples"] = session.Data.TestCount, ["data"] = session.Data.Name, ["run_dir"] = session.Run.Path }.ToJsonString());
            }
            else
            {
                var c = CultureInfo.InvariantCulture;
                stdout.WriteLine($"{session.Data.Name}: test accuracy {accuracy.ToString("P2", c)}, loss {loss.ToString("F4", c)} on {session.Data.TestCount} samples");
            }
            return 0;
        });
        return command.WithExamples("loom eval runs/20261127-170000 --json");
    }
}
