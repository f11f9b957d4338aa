using System.Diagnostics;
using Loom.Diagnostics;
using Loom.Training;

namespace Loom.Bench;

/// <summary>
/// D1 (Loom only, no reference): what the loss-curve doctor adds to training. The same run — temporal-order moderate,
/// LSTM 12, RMSprop 1e-3, 30 epochs of 31 steps, the doctor's worst case (many short epochs, so many calls on long
/// histories) — is trained with the doctor on and off, alternating, after a warm-up; plus the doctor's own calls timed
/// alone (one Diagnose per epoch on the growing history, and doctor.md at the end), which noise on a shared machine
/// does not blur.
/// </summary>
public sealed class D1DoctorOverhead : Workload
{
    private const int Rounds = 4;

    public override string Id => "D1";

    public override IReadOnlyList<int> ThreadCounts => [1];

    public override void Run(int threads, Action<Row> add)
    {
        var on = new List<double>();
        var off = new List<double>();
        string? history = null;
        // Round −1 is a warm-up (JIT of training and doctor alike), not timed; the order alternates so drift in the
        // machine's load does not favour one side.
        for (var round = -1; round < Rounds; round++)
        {
            foreach (var doctor in round % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                var dir = Path.Combine(Path.GetTempPath(), $"loom-bench-d1-{Environment.ProcessId}-{round + 1}-{doctor}");
                try
                {
                    var session = TrainingSession.Create(Config(threads), dir);
                    var trainer = session.CreateTrainer();
                    trainer.Doctor = doctor;
                    var sw = Stopwatch.StartNew();
                    trainer.Run();
                    if (round >= 0) (doctor ? on : off).Add(sw.Elapsed.TotalSeconds);
                    if (doctor && history is null) history = File.ReadAllText(session.Run.History);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
        on.Sort();
        off.Sort();
        add(new Row(Id, "train, doctor on", threads, "s", Median([.. on]), on[0], on[^1], on.Count, "30 epochs × 31 steps"));
        add(new Row(Id, "train, doctor off", threads, "s", Median([.. off]), off[0], off[^1], off.Count, "same run, Trainer.Doctor = false"));
        add(new Row(Id, "overhead end to end", threads, "%", 100 * (Median([.. on]) / Median([.. off]) - 1), double.NaN, double.NaN, Rounds, "medians; noisy under load"));

        // The doctor's calls alone, as the Trainer makes them: after each epoch on the rows so far, then doctor.md.
        var rows = History.Parse(history!.Split('\n'), "history.csv");
        var ends = rows.Select((r, i) => (r, i)).Where(x => x.r.Split == "val").Select(x => x.i + 1).ToList();
        var calls = Time(1, 5, () =>
        {
            foreach (var end in ends) LossCurveDoctor.Diagnose(rows.GetRange(0, end), 4);
            _ = LossCurveDoctor.Diagnose(rows, 4).ToMarkdown("d1");
        });
        add(new Row(Id, "doctor calls of one run", threads, "ms", 1e3 * Median(calls), 1e3 * calls[0], 1e3 * calls[^1], calls.Length, $"{ends.Count + 1} Diagnose calls, up to {rows.Count} rows"));
        add(new Row(Id, "overhead doctor alone", threads, "%", 100 * Median(calls) / Median([.. off]), double.NaN, double.NaN, calls.Length, "doctor calls ÷ training without the doctor"));
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
        Epochs = 30,
        BatchSize = 32,
        Seed = 1,
        Threads = threads,
    };
}
