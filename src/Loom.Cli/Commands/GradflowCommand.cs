using System.CommandLine;
using System.Globalization;
using Loom.Diagnostics;
using Loom.Imaging;
using Loom.Nn;
using Loom.Training;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom gradflow</c>: how gradients flow back through time, ‖∂ℓ/∂h[t]‖ for t = 1 … T (the loss at the last step)
/// and the one-step Jacobians' spectral norms — for a trained run on a fresh batch of its own task, or for a freshly
/// initialised model on a sequence task.
/// </summary>
internal static class GradflowCommand
{
    public static Command Create()
    {
        var run = new Argument<string?>("run") { Description = "A run directory of a sequence task (omit to measure a fresh model).", Arity = ArgumentArity.ZeroOrOne };
        var data = new Option<string>("--data", "-d") { Description = "Fresh model: the sequence task (temporal-order, echo, echo-bits).", DefaultValueFactory = _ => "temporal-order" };
        var model = new Option<string>("--model", "-m") { Description = "Fresh model: rnn, rnn-relu, gated-rnn, attention-rnn, lstm or gru.", DefaultValueFactory = _ => "rnn" };
        var level = new Option<string?>("--level") { Description = "temporal-order level (default normal)." };
        var hidden = new Option<int>("--hidden") { Description = "Fresh model: hidden size.", DefaultValueFactory = _ => 16 };
        var k = new Option<int?>("--k") { Description = "attention-rnn: past states attended to (default 2)." };
        var delay = new Option<int?>("--delay") { Description = "echo, echo-bits: the delay." };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Sequences in the measured batch.", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the fresh model and of the batch.", DefaultValueFactory = _ => 1UL };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: model, steps, grad_norms, first_to_last, jacobian_norms…" };
        var png = new Option<string?>("--png") { Description = "Also draw ‖∂ℓ/∂h[t]‖ over t (log scale) to this .png or .svg file." };
        var command = new Command("gradflow", "Measure the gradient flow through time of a recurrent model (a trained run or a fresh one).")
        {
            run, data, model, level, hidden, k, delay, batch, seed, json, png,
        };
        command.SetAction(parse =>
        {
            var batchSize = parse.GetValue(batch);
            if (batchSize <= 0) throw new LoomException($"--batch-size must be positive, found {batchSize}");
            SequenceClassifier classifier;
            Data.Sequences.SequenceBatch measured;
            if (parse.GetValue(run) is { } runDir)
            {
                var session = TrainingSession.Open(runDir);
                if (session.Data is not SequenceTaskData || session.Model is not SequenceClassifier trained)
                    throw new LoomException($"gradflow: {runDir} was trained on '{session.Config.Data}', not on a sequence task ({string.Join(", ", SequenceTaskData.TaskNames)})");
                session.LoadWeights();
                classifier = trained;
                // A fresh batch of the run's own task: an epoch index training never reached, batch size as asked.
                var fresh = SequenceTaskData.Create(session.Config with { Seed = session.Config.Seed + (ulong)parse.GetValue(seed) }, batchSize);
                measured = fresh.Task.Epoch(session.Config.Epochs).First();
            }
            else
            {
                var config = SequenceTaskData.Resolve(new TrainConfig
                {
                    Data = parse.GetValue(data)!,
                    Model = parse.GetValue(model)!,
                    Hidden = parse.GetValue(hidden),
                    Level = parse.GetValue(level),
                    K = parse.GetValue(k),
                    Delay = parse.GetValue(delay),
                    Seed = parse.GetValue(seed),
                    BatchSize = batchSize,
                });
                config.Validate();
                var seqData = SequenceTaskData.Create(config, batchSize);
                Rng.ManualSeed(config.Seed);
                classifier = seqData.CreateModel(config);
                measured = seqData.Task.Epoch(0).First();
            }
            if (classifier.Recurrent is not IRecurrentCell cell)
                throw new LoomException($"gradflow: {classifier.Recurrent.TypeName} cannot be stepped one step at a time");
            classifier.Eval();
            var report = GradientFlow.Measure(cell, classifier.Head, measured);
            if (parse.GetValue(png) is { } pngPath)
            {
                if (!PictureFonts.Available) parse.InvocationConfiguration.Error.WriteLine($"loom: warning: {PictureFonts.MissingFontsMessage}");
                GradientFlowPlot.Write(report, pngPath);
            }
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                stdout.WriteLine(report.ToJson());
                return 0;
            }
            var c = CultureInfo.InvariantCulture;
            stdout.WriteLine($"{report.Model}: {report.Steps} steps, batch {report.Batch}, hidden {report.Hidden}, loss {report.Loss.ToString("F4", c)}");
            stdout.WriteLine("     t   ‖∂ℓ/∂h[t]‖   ‖∂h[t]/∂h[t−1]‖");
            for (var t = 0; t < report.Steps; t++)
            {
                var jac = report.JacobianNorms is { } j ? j[t].ToString("F4", c) : "-";
                stdout.WriteLine($"  {t + 1,4}   {report.GradNorms[t].ToString("0.000e+00", c),10}   {jac}");
            }
            stdout.WriteLine($"first/last: {report.FirstToLast.ToString("0.000e+00", c)}");
            return 0;
        });
        return command.WithExamples(
            "loom gradflow --data temporal-order --level normal --model rnn --json",
            "loom gradflow --data temporal-order --level normal --model lstm --hidden 16 --seed 1",
            "loom gradflow runs/20261127-170000 --json --png gradflow.png");
    }
}
