using System.Diagnostics;
using Loom.Diagnostics;
using Loom.Nn;
using Loom.Optim;

namespace Loom.Training;

/// <summary>Progress of one optimisation step.</summary>
public sealed record StepReport(int Epoch, int Batch, int BatchesPerEpoch, long Step, double Loss, double Accuracy, double Lr,
    double GradNorm, double SamplesPerSecond, double ElapsedSeconds);

/// <summary>Summary of one finished epoch, with the test-set evaluation.</summary>
public sealed record EpochReport(int Epoch, int Epochs, long Step, double TrainLoss, double TrainAccuracy, double ValLoss,
    double ValAccuracy, double Lr, double Seconds);

/// <summary>How a run ended.</summary>
public sealed record TrainingResult(double TestLoss, double TestAccuracy, int EpochsCompleted, long Steps, double Seconds,
    bool Interrupted, string RunDirectory);

/// <summary>Receives progress (the command line draws a progress bar from it); every method is optional.</summary>
public interface ITrainingObserver
{
    void OnStep(StepReport report) { }

    void OnEpoch(EpochReport report) { }

    void OnMessage(string message) { }

    /// <summary>A finding of the loss-curve doctor with a code not reported before in this run (the live doctor, after each epoch, and the final report).</summary>
    void OnFinding(Finding finding) => OnMessage($"doctor: {finding.Code}: {finding.Summary}");
}

/// <summary>The loss or a gradient became NaN or infinite: the message names the step and the tensor.</summary>
public sealed class TrainingDivergedException(string message) : LoomException(message);

/// <summary>
/// The training loop: for each batch forward, loss, backward, clip, step, metrics; after each epoch an evaluation
/// and an atomic checkpoint. History rows go to <c>history.csv</c>; cancellation stops after the current step
/// and writes a checkpoint, so <see cref="Resume"/> continues exactly where it stopped.
/// </summary>
public sealed class Trainer
{
    private readonly Module _model;
    private readonly ITrainingData _data;
    private readonly Optimizer _optimizer;
    private readonly ILrScheduler? _scheduler;
    private readonly bool _schedulePerBatch;
    private readonly TrainConfig _config;
    private readonly RunDirectory _run;
    private readonly Tensor[] _parameters;
    private readonly string[] _parameterNames;
    private TrainingPosition _position = new(0, 0, 0, 0);
    private readonly HashSet<string> _reported = [];
    private readonly DoctorOptions _doctorOptions;
    private LiveDoctor? _liveDoctor;

    public Trainer(Module model, ITrainingData data, TrainConfig config, RunDirectory run, ITrainingObserver? observer = null)
    {
        _model = model;
        _data = data;
        _config = config;
        _run = run;
        Observer = observer ?? new NullObserver();
        var named = model.NamedParameters().ToList();
        _parameters = [.. named.Select(p => p.Value)];
        _parameterNames = [.. named.Select(p => p.Key)];
        _optimizer = OptimizerFactory.Create(config, _parameters);
        (_scheduler, _schedulePerBatch) = OptimizerFactory.CreateSchedule(config, _optimizer, data.BatchesPerEpoch);
        _doctorOptions = new DoctorOptions { Clip = config.Clip, Lr = config.Lr, Schedule = config.Schedule, Epochs = config.Epochs };
    }

    public ITrainingObserver Observer { get; set; }

    public Optimizer Optimizer => _optimizer;

    /// <summary>Whether the loss-curve doctor runs every epoch and writes <c>doctor.md</c> (default true; the bench turns it off to measure its cost).</summary>
    public bool Doctor { get; set; } = true;

    /// <summary>Seconds spent in the doctor during <see cref="Run"/> (the live checks and <c>doctor.md</c>): its cost, measured where it is paid.</summary>
    public double DoctorSeconds { get; private set; }

    /// <summary>Continues from the run's checkpoint (model, optimiser, schedule, RNG, position).</summary>
    public void Resume()
    {
        if (!File.Exists(_run.Checkpoint) && File.Exists(_run.Config))
        {
            // Killed before its first checkpoint: nothing was trained yet, and the session rebuilt the model from the
            // seed exactly as a fresh run does, so starting over is the exact continuation.
            _position = new TrainingPosition(0, 0, 0, 0);
            Observer.OnMessage("no checkpoint yet: starting the run from the beginning");
            return;
        }
        _position = Checkpoint.Load(_run.Checkpoint, _model, _optimizer, _scheduler);
        Observer.OnMessage($"resuming at epoch {_position.Epoch + 1}, batch {_position.Batch + 1} (step {_position.Step})");
    }

    public TrainingResult Run(CancellationToken cancel = default)
    {
        Directory.CreateDirectory(_run.Path);
        using var history = History.Open(_run.History, keepUpToStep: _position.Step);
        _liveDoctor = new LiveDoctor(_data.NumClasses, _doctorOptions);
        // Every history row also goes to TensorBoard's events.out.tfevents.* (flushed with history.csv, every epoch).
        history.AddSink(Diagnostics.TensorBoard.TensorBoardLog.Open(_run.Path));
        var clock = Stopwatch.StartNew();
        var baseElapsed = _position.ElapsedSeconds;
        var step = _position.Step;
        var interrupted = false;
        var startEpoch = _position.Epoch;
        // A fresh run starts with a checkpoint of the initial weights, so even a divergence in the first epoch
        // leaves a finite, loadable model behind.
        if (_position.Step == 0 && _position.Batch == 0 && startEpoch == 0) SaveCheckpoint(history, 0, 0, 0, 0);
        for (var epoch = startEpoch; epoch < _config.Epochs && !interrupted; epoch++)
        {
            _model.Train();
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, counted = 0;
            var startBatch = epoch == startEpoch ? _position.Batch : 0;
            // An epoch starts a fresh series; a run resumed mid-epoch continues with the state its checkpoint carried.
            if (startBatch == 0) (_model as IStatefulModel)?.ResetState();
            var batchIndex = startBatch;
            var samples = 0L;
            foreach (var batch in _data.TrainEpoch(epoch, startBatch))
            {
                // Each step's activations and gradients go back to the storage pool when the step ends, so steady-state
                // training reuses the same arrays. A stateful model carries tensors from one step to the next: no scope.
                using var scope = _model is IStatefulModel ? null : MemoryScope.Begin();
                var logits = _model.Forward(batch.Inputs);
                var loss = Metrics.Loss(logits, batch.Targets, _config.LabelSmoothing);
                var lossValue = loss.Item();
                var (c, n) = Metrics.Correct(logits, batch.Targets);
                _optimizer.ZeroGrad();
                if (!double.IsFinite(lossValue) && _config.StopOn == "diverged")
                {
                    // The non-finite row goes into the history, so the doctor (and doctor.md) see where it diverged.
                    history.Add(new HistoryRow(step + 1, epoch + 1, "train", lossValue, n == 0 ? double.NaN : (double)c / n, _optimizer.ParamGroups[0].Lr, double.NaN));
                    Diverged(history, $"diverged at step {step + 1} (epoch {epoch + 1}, batch {batchIndex + 1}): loss is {lossValue}");
                }
                loss.Backward();
                var gradNorm = _config.Clip > 0 ? GradClip.ClipGradNorm(_parameters, _config.Clip) : GradClip.ClipGradNorm(_parameters, double.PositiveInfinity);
                if (!double.IsFinite(gradNorm) && _config.StopOn == "diverged")
                {
                    history.Add(new HistoryRow(step + 1, epoch + 1, "train", lossValue, n == 0 ? double.NaN : (double)c / n, _optimizer.ParamGroups[0].Lr, gradNorm));
                    Diverged(history, $"diverged at step {step + 1} (epoch {epoch + 1}, batch {batchIndex + 1}): the gradient of {NonFiniteGradient()} is not finite");
                }
                var lr = _optimizer.ParamGroups[0].Lr;
                _optimizer.Step();
                if (_schedulePerBatch && _scheduler is LrScheduler perBatch) perBatch.Step();
                step++;
                batchIndex++;
                samples += n;
                lossSum += lossValue * n;
                correct += c;
                counted += n;
                var accuracy = n == 0 ? double.NaN : (double)c / n;
                history.Add(new HistoryRow(step, epoch + 1, "train", lossValue, accuracy, lr, gradNorm));
                var elapsed = baseElapsed + clock.Elapsed.TotalSeconds;
                Observer.OnStep(new StepReport(epoch, batchIndex, _data.BatchesPerEpoch, step, lossValue, accuracy, lr, gradNorm,
                    samples / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), elapsed));
                if (cancel.IsCancellationRequested)
                {
                    interrupted = true;
                    break;
                }
            }

            if (interrupted)
            {
                var atEnd = batchIndex >= _data.BatchesPerEpoch;
                SaveCheckpoint(history, atEnd ? epoch + 1 : epoch, atEnd ? 0 : batchIndex, step, baseElapsed + clock.Elapsed.TotalSeconds);
                Observer.OnMessage($"interrupted: checkpoint written at step {step}; continue with --resume {_run.Path}");
                break;
            }

            var (valLoss, valAccuracy) = Metrics.Evaluate(_model, _data);
            var lrNow = _optimizer.ParamGroups[0].Lr;
            history.Add(new HistoryRow(step, epoch + 1, "val", valLoss, valAccuracy, lrNow, double.NaN));
            // The doctor runs before this epoch's checkpoint, so a divergence it finds leaves the previous one as the last good.
            CheckHealth(history);
            if (!_schedulePerBatch)
            {
                if (_scheduler is ReduceLROnPlateau plateau) plateau.Step(valLoss);
                else if (_scheduler is LrScheduler perEpoch) perEpoch.Step();
            }
            SaveCheckpoint(history, epoch + 1, 0, step, baseElapsed + clock.Elapsed.TotalSeconds);
            Observer.OnEpoch(new EpochReport(epoch + 1, _config.Epochs, step, lossSum / Math.Max(1, counted), (double)correct / Math.Max(1, counted),
                valLoss, valAccuracy, lrNow, epochClock.Elapsed.TotalSeconds));
        }

        var (testLoss, testAccuracy) = Metrics.Evaluate(_model, _data);
        if (!interrupted) Checkpoint.SaveWeights(_run.Model, _model.StateDict());
        history.Flush();
        WriteDoctorReport(history);
        var epochsDone = interrupted ? Math.Max(0, (int)(step / Math.Max(1, _data.BatchesPerEpoch))) : _config.Epochs;
        return new TrainingResult(testLoss, testAccuracy, epochsDone, step, baseElapsed + clock.Elapsed.TotalSeconds, interrupted, _run.Path);
    }

    private void SaveCheckpoint(History history, int epoch, int batch, long step, double elapsed)
    {
        // A finite loss and gradient can still step the weights to inf (a huge rate): never checkpoint those, so
        // the checkpoint on disk is always the last finite one.
        if (_config.StopOn == "diverged" && NonFiniteParameter() is { } bad)
            Diverged(history, $"diverged at step {step}: parameter '{bad}' is not finite after the optimiser step");
        history.Flush();
        _position = new TrainingPosition(epoch, batch, step, elapsed);
        Checkpoint.Save(_run.Checkpoint, _model, _optimizer, _scheduler, _position);
    }

    private string? NonFiniteParameter()
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            for (var k = 0; k < p.Numel; k++)
                if (!double.IsFinite(p.GetFlat(k))) return _parameterNames[i];
        }
        return null;
    }

    private string NonFiniteGradient()
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            var g = _parameters[i].Grad;
            if (g is null) continue;
            for (var k = 0; k < g.Numel; k++)
                if (!double.IsFinite(g.GetFlat(k))) return $"parameter '{_parameterNames[i]}'";
        }
        return "a parameter";
    }

    /// <summary>
    /// Gives the live doctor this epoch's rows (it diagnoses the history when due: <see cref="LiveDoctor"/>), reports
    /// codes not reported before, and with <c>--stop-on diverged</c> stops on a <c>diverged</c> finding (a loss that grew
    /// far above its start and best and stayed there; NaN/inf are caught at the step itself).
    /// </summary>
    private void CheckHealth(History history)
    {
        if (!Doctor || _liveDoctor is null) return;
        var started = Stopwatch.GetTimestamp();
        var report = _liveDoctor.Update(history.Rows);
        DoctorSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (report is null) return;
        Report(report);
        if (_config.StopOn == "diverged" && report.Findings.FirstOrDefault(f => f.Code == DoctorCodes.Diverged) is { } diverged)
            Diverged(history, $"diverged: {diverged.Summary}");
    }

    /// <summary>Prints the codes not printed before in this run.</summary>
    private void Report(DoctorReport report)
    {
        foreach (var finding in report.Findings)
        {
            if (finding.Code == DoctorCodes.Healthy || !_reported.Add(finding.Code)) continue;
            Observer.OnFinding(finding);
        }
    }

    /// <summary>Writes <c>doctor.md</c> (atomically) with the doctor's report on the whole history; never fails the run.</summary>
    private void WriteDoctorReport(History history)
    {
        if (!Doctor || history.Rows.Count == 0) return;
        try
        {
            var started = Stopwatch.GetTimestamp();
            var report = LossCurveDoctor.Diagnose(history, _data.NumClasses, _doctorOptions);
            AtomicFile.WriteAllText(_run.Doctor, report.ToMarkdown(System.IO.Path.GetFileName(_run.Path)));
            DoctorSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            // The live doctor diagnoses every so often, not every epoch: what the last epochs brought is printed now.
            Report(report);
        }
        catch (LoomException e)
        {
            Observer.OnMessage($"doctor.md not written: {e.Message}");
        }
    }

    private void Diverged(History history, string message)
    {
        history.Flush();
        WriteDoctorReport(history);
        var kept = File.Exists(_run.Checkpoint) ? $"the last finite checkpoint is kept in {_run.Checkpoint}" : "no checkpoint had been written yet";
        if (!File.Exists(_run.Model) && File.Exists(_run.Checkpoint))
        {
            // Leave a loadable model: the weights of the last good checkpoint.
            var content = Checkpoint.LoadNamed(_run.Checkpoint);
            var weights = content.Tensors.Where(t => t.Key.StartsWith("model/", StringComparison.Ordinal))
                .ToDictionary(t => t.Key["model/".Length..], t => t.Value);
            Checkpoint.SaveWeights(_run.Model, weights);
        }
        throw new TrainingDivergedException($"{message}; {kept}. Try a lower --lr or --clip 1.");
    }

    private sealed class NullObserver : ITrainingObserver;
}
