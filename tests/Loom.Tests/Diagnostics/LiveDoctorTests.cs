using Loom.Diagnostics;
using Loom.Tests.Cli;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// The live doctor (what the Trainer runs after each epoch) against the batch doctor on the corpus's real runs, replayed
/// epoch by epoch as the Trainer feeds them: the same reports where it diagnoses, the same final report, the same
/// codes printed over the run and the same epoch for a divergence — at a bounded fraction of the work of a diagnosis
/// every epoch.
/// </summary>
public class LiveDoctorTests
{
    /// <summary>Replays <paramref name="rows"/> epoch by epoch (a val row ends an epoch, as in the Trainer).</summary>
    private static Replay Run(List<HistoryRow> rows, int? classes, DoctorOptions? options = null)
    {
        var live = new LiveDoctor(classes, options);
        var prefix = new List<HistoryRow>();
        var replay = new Replay();
        for (var i = 0; i < rows.Count; i++)
        {
            prefix.Add(rows[i]);
            if (rows[i].Split != "val" && i != rows.Count - 1) continue;
            var epoch = rows[i].Epoch;
            var batch = LossCurveDoctor.Diagnose(prefix, classes, options);
            replay.BatchRows += prefix.Count;
            replay.BatchCodes.UnionWith(batch.Codes.Where(c => c != DoctorCodes.Healthy));
            if (replay.BatchDiverged is null && batch.Codes.Contains(DoctorCodes.Diverged)) replay.BatchDiverged = epoch;
            if (live.Update(prefix) is not { } report) continue;
            Assert.Equal(batch.ToJson(), report.ToJson());
            replay.LiveCodes.UnionWith(report.Codes.Where(c => c != DoctorCodes.Healthy));
            if (replay.LiveDiverged is null && report.Codes.Contains(DoctorCodes.Diverged)) replay.LiveDiverged = epoch;
        }
        var final = live.Finish(rows);
        Assert.Equal(LossCurveDoctor.Diagnose(rows, classes, options).ToJson(), final.ToJson());
        // The Trainer prints, at the end, the final report's codes it had not printed yet.
        replay.LiveCodes.UnionWith(final.Codes.Where(c => c != DoctorCodes.Healthy));
        replay.FinalCodes.UnionWith(final.Codes);
        replay.LiveRows = live.RowsDiagnosed;
        replay.Diagnoses = live.Diagnoses;
        return replay;
    }

    private sealed class Replay
    {
        public HashSet<string> BatchCodes { get; } = [];

        public HashSet<string> LiveCodes { get; } = [];

        public HashSet<string> FinalCodes { get; } = [];

        /// <summary>Codes a diagnosis every epoch printed that the live doctor did not: ones that came and went between its diagnoses.</summary>
        public IEnumerable<string> Missed => BatchCodes.Except(LiveCodes).Order();

        public int? BatchDiverged { get; set; }

        public int? LiveDiverged { get; set; }

        public long BatchRows { get; set; }

        public long LiveRows { get; set; }

        public int Diagnoses { get; set; }
    }

    [Theory]
    [InlineData(DoctorCorpus.Folder)]
    [InlineData(DoctorCorpus.HoldoutFolder)]
    public void OnTheCorpusLiveFindingsEqualBatchFindings(string folder)
    {
        var missed = new List<string>();
        foreach (var run in DoctorCorpus.Load(folder))
        {
            var rows = History.Read(run.History);
            var replay = Run(rows, run.Classes);
            // The codes the Trainer prints over the run (each the first time it appears): never one that a diagnosis
            // every epoch would not have printed; it may miss one that came and went between two of its diagnoses
            // (never one of the final report: those are printed at the end).
            Assert.True(replay.LiveCodes.IsSubsetOf(replay.BatchCodes), $"{run.Name}: live printed {string.Join(";", replay.LiveCodes.Order())}, a diagnosis every epoch {string.Join(";", replay.BatchCodes.Order())}");
            Assert.DoesNotContain(replay.Missed, replay.FinalCodes.Contains);
            if (replay.Missed.Any()) missed.Add($"{run.Name}: {string.Join(";", replay.Missed)}");
            // A divergence stops the run at the same epoch.
            Assert.Equal(replay.BatchDiverged, replay.LiveDiverged);
            // At most 9 diagnoses of the final history by schedule; the ones a doubled loss triggers stay within as many again here.
            Assert.True(replay.LiveRows <= 18 * rows.Count + rows.Count, $"{run.Name}: the live doctor read {replay.LiveRows} rows for a history of {rows.Count}");
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"transient codes the live doctor did not print: {(missed.Count == 0 ? "none" : string.Join("; ", missed))}");
    }

    /// <summary>
    /// The course's 100-epoch spiky run (3,100 steps, docs/recurrent): a diagnosis every epoch reads 50× its history
    /// (O(epochs²)); the live doctor a bounded multiple, with the same codes printed and the same final report.
    /// </summary>
    [Fact]
    public void OnTheHundredEpochCourseRunTheWorkIsABoundedMultipleOfTheHistory()
    {
        var path = Path.Combine(CliRunner.RepoRoot, "docs/recurrent/temporal-order-moderate-lstm-noclip-constant.history.csv");
        var rows = History.Read(path);
        var replay = Run(rows, 4);
        Assert.True(replay.LiveCodes.IsSubsetOf(replay.BatchCodes));
        Assert.Equal(replay.BatchDiverged, replay.LiveDiverged);
        Assert.True(replay.BatchRows > 40 * rows.Count, $"per-epoch diagnoses read {replay.BatchRows} rows");
        Assert.True(replay.LiveRows < 20 * rows.Count, $"the live doctor read {replay.LiveRows} rows for {rows.Count} ({replay.Diagnoses} diagnoses)");
        TestContext.Current.TestOutputHelper?.WriteLine($"{replay.Diagnoses} diagnoses read {replay.LiveRows} rows ({(double)replay.LiveRows / rows.Count:F1}× the history); " +
            $"a diagnosis every epoch: {replay.BatchRows} ({(double)replay.BatchRows / rows.Count:F1}×); missed transient codes: {string.Join(";", replay.Missed)}");
    }

    [Fact]
    public void ANonFiniteLossIsDiagnosedAtTheEpochItAppears()
    {
        var live = new LiveDoctor(4);
        var rows = new List<HistoryRow>();
        var step = 0L;
        for (var epoch = 1; epoch <= 40; epoch++)
        {
            for (var b = 0; b < 10; b++)
            {
                step++;
                rows.Add(new HistoryRow(step, epoch, "train", epoch == 37 && b == 4 ? double.NaN : 1.3 - (0.001 * step), 0.3, 1e-3, 1.0));
            }
            rows.Add(new HistoryRow(step, epoch, "val", 1.3 - (0.001 * step), 0.3, 1e-3, double.NaN));
            var report = live.Update(rows);
            if (epoch < 37) continue;
            // Epoch 37 is not a scheduled diagnosis (the last was at 340 steps, the next is due at 383): the NaN triggers it.
            Assert.NotNull(report);
            Assert.Contains(DoctorCodes.Diverged, report.Codes);
            break;
        }
    }

    /// <summary>
    /// A finite divergence: the loss falls for 40 epochs, then jumps to 5 (above 3× its start) and stays. It is reported
    /// only once the tail median is up, a few epochs after the rise: the live doctor watches every epoch from the rise, so
    /// it finds it at the same epoch as a diagnosis every epoch would.
    /// </summary>
    [Fact]
    public void AFiniteDivergenceIsFoundAtTheSameEpochAsADiagnosisEveryEpoch()
    {
        var rows = new List<HistoryRow>();
        var step = 0L;
        for (var epoch = 1; epoch <= 70; epoch++)
        {
            for (var b = 0; b < 10; b++)
            {
                step++;
                var loss = epoch <= 40 ? 0.05 + (1.3 * Math.Exp(-step / 100.0)) : 5.0 + (0.01 * (step % 3));
                rows.Add(new HistoryRow(step, epoch, "train", loss, 0.5, 1e-3, 1.0));
            }
            rows.Add(new HistoryRow(step, epoch, "val", rows[^1].Loss, 0.5, 1e-3, double.NaN));
        }
        var replay = Run(rows, 4);
        Assert.NotNull(replay.BatchDiverged);
        Assert.InRange(replay.BatchDiverged!.Value, 42, 60);
        Assert.Equal(replay.BatchDiverged, replay.LiveDiverged);
    }

    [Fact]
    public void AHistoryThatShrinksIsRefused()
    {
        var live = new LiveDoctor(null);
        HistoryRow[] rows = [new(1, 1, "train", 1.0, double.NaN, 1e-3, double.NaN), new(2, 1, "train", 0.9, double.NaN, 1e-3, double.NaN)];
        live.Update(rows);
        Assert.Throws<InvalidOperationException>(() => live.Update(rows[..1]));
    }
}
