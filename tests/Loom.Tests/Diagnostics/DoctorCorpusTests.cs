using System.Globalization;
using System.Text;
using Loom.Diagnostics;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// Replays the doctor on the labelled corpus of real runs (<see cref="DoctorCorpusGenerator"/>) and asserts precision
/// and recall ≥ 0.9 for every code the corpus labels. A code a run lists as "allowed" (a plausible side effect of its
/// fault, declared with the fault) counts neither as a hit nor as a false alarm for that run.
/// </summary>
public class DoctorCorpusTests
{
    public const double Target = 0.9;

    [Theory]
    [InlineData(DoctorCorpus.Folder, 40)]
    [InlineData(DoctorCorpus.HoldoutFolder, 20)]
    public void PrecisionAndRecallPerCodeReachTheTarget(string folder, int minRuns)
    {
        var runs = DoctorCorpus.Load(folder);
        Assert.True(runs.Count >= minRuns, $"the corpus has {runs.Count} runs, expected at least {minRuns}");
        var scores = Score(runs, out var table);
        TestContext.Current.TestOutputHelper?.WriteLine(table);
        Assert.True(scores.Count >= 7, $"the corpus labels only {scores.Count} codes");
        foreach (var (code, (precision, recall, _)) in scores)
        {
            Assert.True(precision >= Target, $"{code}: precision {precision:F2} < {Target}\n{table}");
            Assert.True(recall >= Target, $"{code}: recall {recall:F2} < {Target}\n{table}");
        }
    }

    /// <summary>Per code: precision, recall and the number of runs labelled with it; <paramref name="table"/> is the markdown table for docs.</summary>
    public static SortedDictionary<string, (double Precision, double Recall, int Support)> Score(IReadOnlyList<CorpusRun> runs, out string table)
    {
        var predicted = runs.ToDictionary(r => r.Name, r => LossCurveDoctor.Diagnose(History.Read(r.History), r.Classes).Codes.ToHashSet());
        var scores = new SortedDictionary<string, (double, double, int)>(StringComparer.Ordinal);
        var sb = new StringBuilder("| code | runs labelled | found | false alarms | precision | recall |\n|---|---|---|---|---|---|\n");
        foreach (var code in DoctorCodes.All.Where(c => runs.Any(r => r.Expected.Contains(c))))
        {
            int tp = 0, fp = 0, fn = 0;
            foreach (var run in runs)
            {
                var found = predicted[run.Name].Contains(code);
                if (run.Expected.Contains(code))
                {
                    if (found) tp++;
                    else fn++;
                }
                else if (found && !run.Allowed.Contains(code)) fp++;
            }
            var precision = tp + fp == 0 ? 1 : (double)tp / (tp + fp);
            var recall = (double)tp / (tp + fn);
            scores[code] = (precision, recall, tp + fn);
            sb.Append(CultureInfo.InvariantCulture, $"| `{code}` | {tp + fn} | {tp} | {fp} | {precision:F2} | {recall:F2} |\n");
        }
        sb.Append("\nPer run (expected → found):\n");
        foreach (var run in runs)
            sb.Append(CultureInfo.InvariantCulture, $"- {run.Name}: {string.Join(";", run.Expected)} → {string.Join(";", predicted[run.Name])}\n");
        table = sb.ToString();
        return scores;
    }
}
