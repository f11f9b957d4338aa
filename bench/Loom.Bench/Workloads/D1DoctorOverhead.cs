using System.Diagnostics;
using Loom.Diagnostics;
using Loom.Training;

namespace Loom.Bench;

/// <summary>
/// D1 (Loom only, no reference): what the loss-curve doctor adds to training. The course's run — temporal-order
/// moderate, LSTM 12, RMSprop 1e-3, 100 epochs of 31 steps, the doctor's worst case (many short epochs, so many calls on
/// long histories) — is trained with the doctor on and off, in pairs whose order alternates, after a warm-up pair.
/// Reported: the medians, the paired overhead (on ÷ off − 1 per pair: median, min, max), the doctor's own time measured
/// inside the Trainer (<see cref="Trainer.DoctorSeconds"/>), and the doctor's calls replayed alone on the run's history
/// — the live doctor as the Trainer runs it now, and one full diagnosis every epoch as it did before — which noise on a
/// shared machine blurs far less.
/// </summary>
public sealed class D1DoctorOverhead : Workload
{
    private const int Rounds = 5;

    private const int Epochs = 100;

    public override string Id => "D1";

    public override IReadOnlyList<int> ThreadCounts => [1];

    public override void Run(int threads, Action<Row> add)
    {
        var on = new List<double>();
        var off = new List<double>();
        var paired = new List<double>();
        var inside = new List<double>();
        string? history = null;
        // Round −1 is a warm-up (JIT of training and doctor alike), not timed; the order alternates so drift in the
        // machine's load does not favour one side.
        for (var round = -1; round < Rounds; round++)
        {
            var pair = new Dictionary<bool, double>();
            foreach (var doctor in round % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                var dir = Path.Combine(Path.GetTempPath(), $"loom-bench-d1-{Environment.ProcessId}-{round + 1}-{doctor}");
                try
                {
                    var session = TrainingSession.Create(Config(threads), dir);
                    var trainer = session.CreateTrainer();
                    trainer.Doctor = doctor;
                    var sw = Stopwatch.StartNew();
                    var result = trainer.Run();
                    pair[doctor] = sw.Elapsed.TotalSeconds;
                    // A doctor that stopped the run (a divergence) would make the two sides different runs.
                    if (result.Steps != Epochs * session.Data.BatchesPerEpoch) throw new InvalidOperationException($"D1: the run stopped at step {result.Steps}");
                    if (round >= 0 && doctor) inside.Add(trainer.DoctorSeconds);
                    if (doctor && history is null) history = File.ReadAllText(session.Run.History);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            if (round < 0) continue;
            on.Add(pair[true]);
            off.Add(pair[false]);
            paired.Add(100 * ((pair[true] / pair[false]) - 1));
        }
        on.Sort();
        off.Sort();
        paired.Sort();
        inside.Sort();
        add(new Row(Id, "train, doctor on", threads, "s", Median([.. on]), on[0], on[^1], on.Count, $"{Epochs} epochs × 31 steps"));
        add(new Row(Id, "train, doctor off", threads, "s", Median([.. off]), off[0], off[^1], off.Count, "same run, Trainer.Doctor = false"));
        add(new Row(Id, "overhead end to end", threads, "%", 100 * ((Median([.. on]) / Median([.. off])) - 1), double.NaN, double.NaN, Rounds, "on ÷ off − 1 of the medians"));
        add(new Row(Id, "overhead end to end, paired", threads, "%", Median([.. paired]), paired[0], paired[^1], paired.Count, "on ÷ off − 1 per back-to-back pair; noisy under load"));
        add(new Row(Id, "doctor inside the Trainer", threads, "ms", 1e3 * Median([.. inside]), 1e3 * inside[0], 1e3 * inside[^1], inside.Count, "Trainer.DoctorSeconds: live checks + doctor.md"));
        add(new Row(Id, "overhead doctor inside", threads, "%", 100 * Median([.. inside]) / Median([.. off]), double.NaN, double.NaN, inside.Count, "÷ training without the doctor"));

        // The doctor's calls alone on the run's history, epoch by epoch as the Trainer makes them, then doctor.md.
        var rows = History.Parse(history!.Split('\n'), "history.csv");
        var ends = rows.Select((r, i) => (r, i)).Where(x => x.r.Split == "val").Select(x => x.i + 1).ToList();
        var diagnoses = 0;
        var live = Time(1, 5, () =>
        {
            var doctor = new LiveDoctor(4);
            var prefix = new List<HistoryRow>(rows.Count);
            foreach (var end in ends)
            {
                while (prefix.Count < end) prefix.Add(rows[prefix.Count]);
                doctor.Update(prefix);
            }
            _ = doctor.Finish(rows).ToMarkdown("d1");
            diagnoses = doctor.Diagnoses;
        });
        var everyEpoch = Time(1, 5, () =>
        {
            var prefix = new List<HistoryRow>(rows.Count);
            foreach (var end in ends)
            {
                while (prefix.Count < end) prefix.Add(rows[prefix.Count]);
                LossCurveDoctor.Diagnose(prefix, 4);
            }
            _ = LossCurveDoctor.Diagnose(rows, 4).ToMarkdown("d1");
        });
        add(new Row(Id, "live doctor calls of one run", threads, "ms", 1e3 * Median(live), 1e3 * live[0], 1e3 * live[^1], live.Length, $"{ends.Count} updates, {diagnoses} diagnoses, up to {rows.Count} rows"));
        add(new Row(Id, "overhead live doctor alone", threads, "%", 100 * Median(live) / Median([.. off]), double.NaN, double.NaN, live.Length, "live calls ÷ training without the doctor"));
        add(new Row(Id, "a diagnosis every epoch (before)", threads, "ms", 1e3 * Median(everyEpoch), 1e3 * everyEpoch[0], 1e3 * everyEpoch[^1], everyEpoch.Length, $"{ends.Count + 1} Diagnose calls"));
        add(new Row(Id, "overhead every epoch (before)", threads, "%", 100 * Median(everyEpoch) / Median([.. off]), double.NaN, double.NaN, everyEpoch.Length, "÷ training without the doctor"));
    }

    private static TrainConfig Config(int threads) => new()
    {
        Data = "temporal-order",
        Level = "moderate",
        Model = "lstm",
        Hidden = 12,
        Optimizer = "rmsprop",
        Lr = 1e-3,
        Schedule = "none",
        Epochs = Epochs,
        BatchSize = 32,
        Seed = 1,
        Threads = threads,
    };
}
