using System.Globalization;
using Loom.Tests.Cli;

namespace Loom.Tests.Diagnostics;

/// <summary>One labelled run of the corpus: the codes its fault must produce, and codes it may also honestly produce.</summary>
public sealed record CorpusRun(string Folder, string Name, string Fault, int Classes, IReadOnlySet<string> Expected, IReadOnlySet<string> Allowed)
{
    public string History => Path.Combine(CliRunner.RepoRoot, Folder, Name, "history.csv");
}

/// <summary>The labelled corpus of real runs (see <see cref="DoctorCorpusGenerator"/>): labels.csv and one folder per run.</summary>
public static class DoctorCorpus
{
    public const string Folder = "tests/Loom.Tests/Diagnostics/corpus";
    public const string HoldoutFolder = "tests/Loom.Tests/Diagnostics/corpus-holdout";
    public const string LabelsHeader = "run,fault,classes,expected,allowed";

    public static IReadOnlyList<CorpusRun> Load(string folder = Folder)
    {
        var lines = File.ReadAllLines(Path.Combine(CliRunner.RepoRoot, folder, "labels.csv"));
        Assert.Equal(LabelsHeader, lines[0]);
        return [.. lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var c = l.Split(',');
            static HashSet<string> Codes(string s) => [.. s.Split(';', StringSplitOptions.RemoveEmptyEntries)];
            return new CorpusRun(folder, c[0], c[1], int.Parse(c[2], CultureInfo.InvariantCulture), Codes(c[3]), Codes(c[4]));
        })];
    }
}
