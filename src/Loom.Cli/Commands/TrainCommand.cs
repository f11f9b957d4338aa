using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Loom.Diagnostics.TensorBoard;
using Loom.Training;
using Spectre.Console;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom train</c>: trains a model on a dataset with a progress bar on stderr and a final report on stdout
/// (one JSON object with <c>--json</c>). With no arguments: <c>smallcnn</c> on the built-in digits.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d") { Description = "Dataset: digits, fashion-mnist, image-folder (your photos, with --data-dir), or any folder of IDX files with --data-dir; or a sequence task: temporal-order, echo, echo-bits.", DefaultValueFactory = _ => "digits" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder with the four IDX files (train/t10k images/labels); for --data image-folder, the folder of class folders (cat/…, dog/…, or train/ and test/ each holding them)." };
        var imageSize = new Option<string?>("--image-size", "--size") { Description = "image-folder: size every image is resized to, HxW or one number (default 32x32).", HelpName = "HxW" };
        var grayscale = new Option<bool>("--grayscale") { Description = "image-folder: one luma channel instead of R, G, B." };
        var resize = new Option<string?>("--resize") { Description = "image-folder: how other aspect ratios are fitted: stretch (default), center-crop or pad (black borders)." };
        var model = new Option<string>("--model", "-m") { Description = "A preset (smallcnn, resnet-small, mlp, lenet5) or a spec as in 'loom summary'; for sequence tasks rnn, rnn-relu, gated-rnn, attention-rnn, lstm or gru (default: temporal-order lstm, echo gru, echo-bits rnn-relu).", DefaultValueFactory = _ => "smallcnn" };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Passes over the training set (sequence tasks: temporal-order 50, echo 100 (200 with --max-delay), echo-bits 10).", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Samples per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Learning rate (the peak rate under onecycle; sequence tasks: 0.01).", DefaultValueFactory = _ => 3e-3 };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd, adam, adamw or rmsprop.", DefaultValueFactory = _ => "adam" };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9 };
        var schedule = new Option<string>("--schedule") { Description = "none, step, multistep, cosine, onecycle, plateau, warmup-cosine (sequence tasks: cosine).", DefaultValueFactory = _ => "onecycle" };
        var warmup = new Option<int>("--warmup-epochs") { Description = "Linear warm-up epochs for warmup-cosine.", DefaultValueFactory = _ => 1 };
        var clip = new Option<double>("--clip") { Description = "Clip the gradients' global L2 norm to this value (0: off)." };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 penalty (decoupled for adamw)." };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing ε of the cross-entropy." };
        var augment = new Option<string>("--augment") { Description = "Data augmentation: none, standard, or steps such as flip,crop(28,2),rotate(10),jitter(0.2,0.2,0.2,0.05),blur(3,0.1-2.0).", DefaultValueFactory = _ => "none" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of everything random: same seed and threads, same run.", DefaultValueFactory = _ => 1UL };
        var threads = new Option<int>("--threads") { Description = "Threads for the kernels.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var stopOn = new Option<string>("--stop-on") { Description = "diverged (stop when the loss or a gradient is NaN/inf) or none.", DefaultValueFactory = _ => "diverged" };
        var hidden = new Option<int?>("--hidden") { Description = "Sequence tasks: hidden size (default: temporal-order 16, echo 64 (128 with --max-delay), echo-bits 8)." };
        var layers = new Option<int?>("--layers") { Description = "Sequence tasks: stacked layers of rnn, rnn-relu, lstm, gru (default 1; 2 for echo with --max-delay)." };
        var level = new Option<string?>("--level") { Description = "temporal-order: easy, normal (default), moderate, hard, nightmare." };
        var delay = new Option<int?>("--delay") { Description = "echo: fixed delay (default 4, < 15); echo-bits: delay (default 3)." };
        var maxDelay = new Option<int?>("--max-delay") { Description = "echo: variable delay 0…M per sequence, given as an input (M < 20)." };
        var k = new Option<int?>("--k") { Description = "attention-rnn: past states attended to (default 2)." };
        var output = new Option<string?>("--out", "-o") { Description = "Run directory (default runs/<timestamp>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this directory from its checkpoint." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (progress goes to stderr)." };
        var command = new Command("train", "Train a model; writes config.json, history.csv, checkpoints and model.safetensors to the run directory.")
        {
            data, dataDir, imageSize, grayscale, resize, model, epochs, batch, lr, optimizer, momentum, schedule, warmup, clip, weightDecay, smoothing, augment, seed, threads, stopOn, hidden, layers, level, delay, maxDelay, k, output, resume, json,
        };
        command.SetAction(parse =>
        {
            TrainingSession session;
            var resumeDir = parse.GetValue(resume);
            if (resumeDir is not null)
            {
                session = TrainingSession.OpenForTraining(resumeDir);
            }
            else
            {
                var config = new TrainConfig
                {
                    Data = parse.GetValue(data)!,
                    DataDir = parse.GetValue(dataDir),
                    Model = parse.GetValue(model)!,
                    Epochs = parse.GetValue(epochs),
                    BatchSize = parse.GetValue(batch),
                    Lr = parse.GetValue(lr),
                    Optimizer = parse.GetValue(optimizer)!,
                    Momentum = parse.GetValue(momentum),
                    Schedule = parse.GetValue(schedule)!,
                    WarmupEpochs = parse.GetValue(warmup),
                    Clip = parse.GetValue(clip),
                    WeightDecay = parse.GetValue(weightDecay),
                    LabelSmoothing = parse.GetValue(smoothing),
                    Augment = parse.GetValue(augment)!,
                    Seed = parse.GetValue(seed),
                    Threads = parse.GetValue(threads),
                    StopOn = parse.GetValue(stopOn)!,
                    Hidden = parse.GetValue(hidden),
                    Layers = parse.GetValue(layers),
                    Level = parse.GetValue(level),
                    Delay = parse.GetValue(delay),
                    MaxDelay = parse.GetValue(maxDelay),
                    K = parse.GetValue(k),
                    ImageSize = parse.GetValue(imageSize) is { } size ? SizeList(Loom.Data.ImageResizes.ParseSize(size)) : null,
                    Grayscale = parse.GetValue(grayscale) ? true : null,
                    Resize = parse.GetValue(resize) is { } mode ? Loom.Data.ImageResizes.Name(Loom.Data.ImageResizes.Parse(mode)) : null,
                };
                if (SequenceTaskData.IsSequenceTask(config.Data))
                {
                    // The image defaults (smallcnn, onecycle at 3e-3, 2 epochs) do not suit recurrent models: a sequence
                    // task gets its own where the option was not given; config.json records the effective values.
                    bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
                    config = config with
                    {
                        Model = Given(model) ? config.Model : SequenceTaskData.DefaultModel(config.Data),
                        Epochs = Given(epochs) ? config.Epochs : SequenceTaskData.DefaultEpochs(config.Data, config.MaxDelay),
                        Lr = Given(lr) ? config.Lr : 1e-2,
                        Schedule = Given(schedule) ? config.Schedule : "cosine",
                    };
                }
                session = TrainingSession.Create(config, parse.GetValue(output) ?? RunDirectory.NewName());
            }
            using (session)
            {
                return Train(session, resumeDir is not null, parse.GetValue(json), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            }
        });
        return command.WithExamples(
            "loom train",
            "loom train --data digits --model smallcnn --epochs 2 --seed 1 --json",
            "loom train --data fashion-mnist --model resnet-small --epochs 15 --schedule onecycle --lr 0.01 --optimizer sgd",
            "loom train --data echo --delay 4 --model gru --seed 1 --json",
            "loom train --data temporal-order --level moderate --model lstm --hidden 12 --optimizer rmsprop --lr 0.001 --clip 1 --schedule cosine --epochs 100",
            "loom train --data echo-bits --model rnn-relu --hidden 8",
            "loom train --data image-folder --data-dir photos --image-size 64x64 --resize center-crop --augment standard --epochs 10",
            "loom train --resume runs/20261127-170000");
    }

    private static int[] SizeList((int Height, int Width) size) => [size.Height, size.Width];

    private static int Train(TrainingSession session, bool resuming, bool json, TextWriter stdout, TextWriter stderr)
    {
        var trainer = session.CreateTrainer();
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var console = ErrorConsole(stderr, out var redirected);
            console.MarkupLine($"[grey]run[/] {Markup.Escape(session.Run.Path)}  [grey]data[/] {Markup.Escape(session.Data.Name)}  [grey]model[/] {Markup.Escape(session.Config.Model)}  [grey]threads[/] {Threads.Count}");
            TrainingResult result = null!;
            var progress = new ProgressObserver(console, session.Config.Epochs);
            trainer.Observer = progress;
            // After the observer is attached, so "resuming at epoch E, batch B" reaches stderr.
            if (resuming) trainer.Resume();
            if (redirected)
            {
                // No live bar when stderr is a file or pipe: a plain line every tenth of an epoch.
                result = trainer.Run(cancel.Token);
            }
            else
            {
                console.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        progress.Attach(ctx);
                        result = trainer.Run(cancel.Token);
                    });
            }
            progress.Finish(result);
            Report(session, result, json, stdout);
            return result.Interrupted ? 130 : 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            PlotCommand.WriteRunCurves(session.Run, stderr);
        }
    }

    private static void Report(TrainingSession session, TrainingResult r, bool json, TextWriter stdout)
    {
        if (json)
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            var o = new JsonObject
            {
                ["test_accuracy"] = r.TestAccuracy,
                ["test_loss"] = r.TestLoss,
                ["epochs"] = r.EpochsCompleted,
                ["steps"] = r.Steps,
                ["seconds"] = Math.Round(r.Seconds, 3),
                ["interrupted"] = r.Interrupted,
                ["run_dir"] = r.RunDirectory,
                // Resource use, for the long-run checks (a leak shows as a growing peak, churn as many gen-2 collections).
                ["gc_gen2_collections"] = GC.CollectionCount(2),
                ["peak_working_set_bytes"] = self.PeakWorkingSet64,
            };
            stdout.WriteLine(o.ToJsonString());
            return;
        }
        var c = CultureInfo.InvariantCulture;
        stdout.WriteLine(r.Interrupted ? "Training interrupted (checkpoint written)." : "Training finished.");
        stdout.WriteLine($"  test accuracy  {r.TestAccuracy.ToString("P2", c)} on {session.Data.TestCount} {session.Data.Name} test samples");
        stdout.WriteLine($"  test loss      {r.TestLoss.ToString("F4", c)}  (chance: ln {session.Data.NumClasses} = {Math.Log(session.Data.NumClasses).ToString("F4", c)})");
        stdout.WriteLine($"  epochs         {r.EpochsCompleted}  ({r.Steps} steps, {r.Seconds.ToString("F1", c)} s)");
        stdout.WriteLine($"  run directory  {r.RunDirectory}");
        // curves.png is drawn as the command ends (also after an interrupt), right after this report.
        stdout.WriteLine("  files          config.json, history.csv, checkpoint.safetensors" + (r.Interrupted ? "" : ", model.safetensors") +
            ", curves.png, doctor.md (loom doctor " + r.RunDirectory + "), " + EventFileWriter.FilePrefix + "* (TensorBoard)");
    }

    internal static IAnsiConsole ErrorConsole(TextWriter stderr, out bool redirected)
    {
        redirected = !ReferenceEquals(stderr, Console.Error) || Console.IsErrorRedirected;
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr),
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Yes,
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
        });
    }

    /// <summary>Draws one progress task per epoch; prints a line per epoch with the evaluation.</summary>
    private sealed class ProgressObserver(IAnsiConsole console, int epochs) : ITrainingObserver
    {
        private ProgressContext? _context;
        private ProgressTask? _task;
        private int _taskEpoch = -1;

        public void Attach(ProgressContext context) => _context = context;

        public void OnStep(StepReport r)
        {
            if (_context is null)
            {
                var every = Math.Max(1, r.BatchesPerEpoch / 10);
                if (r.Batch % every == 0 || r.Batch == r.BatchesPerEpoch)
                {
                    var ci = CultureInfo.InvariantCulture;
                    console.WriteLine($"epoch {r.Epoch + 1}/{epochs} batch {r.Batch}/{r.BatchesPerEpoch}: loss {r.Loss.ToString("F4", ci)} acc {(double.IsNaN(r.Accuracy) ? "-" : r.Accuracy.ToString("P1", ci))} {r.SamplesPerSecond.ToString("F0", ci)} samples/s");
                }
                return;
            }
            if (_task is null || _taskEpoch != r.Epoch)
            {
                _task?.StopTask();
                _task = _context.AddTask($"epoch {r.Epoch + 1}/{epochs}", maxValue: r.BatchesPerEpoch);
                _taskEpoch = r.Epoch;
            }
            _task.Value = r.Batch;
            var c = CultureInfo.InvariantCulture;
            _task.Description = $"epoch {r.Epoch + 1}/{epochs}  loss {r.Loss.ToString("F4", c)}  acc {(double.IsNaN(r.Accuracy) ? "-" : r.Accuracy.ToString("P1", c))}  {r.SamplesPerSecond.ToString("F0", c)} samples/s";
        }

        public void OnEpoch(EpochReport r)
        {
            var c = CultureInfo.InvariantCulture;
            _task?.StopTask();
            console.MarkupLine(Markup.Escape($"epoch {r.Epoch}/{r.Epochs}: train loss {r.TrainLoss.ToString("F4", c)} acc {r.TrainAccuracy.ToString("P2", c)} | " +
                $"val loss {r.ValLoss.ToString("F4", c)} acc {r.ValAccuracy.ToString("P2", c)} | lr {r.Lr.ToString("G3", c)} | {r.Seconds.ToString("F1", c)} s"));
        }

        public void OnMessage(string message) => console.MarkupLine("[yellow]" + Markup.Escape(message) + "[/]");

        public void Finish(TrainingResult r) =>
            console.MarkupLine(Markup.Escape($"done: {r.Steps} steps in {r.Seconds.ToString("F1", CultureInfo.InvariantCulture)} s"));
    }
}
