using System.Diagnostics;

namespace Loom.Tests.Reliability;

/// <summary>
/// The uninterrupted tiny run every crash test compares against, run twice (same seed, same threads) to show that
/// two runs agree byte for byte; also how long its training takes, to draw kill moments from.
/// </summary>
public sealed class ReferenceRun : IDisposable
{
    public const int Epochs = 5;

    public ReferenceRun()
    {
        Root = Path.Combine(Path.GetTempPath(), "loom-reliab-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        (ModelBytes, History, TrainingTime) = RunOnce(Path.Combine(Root, "reference"));
        (SecondModelBytes, SecondHistory, _) = RunOnce(Path.Combine(Root, "reference-again"));
    }

    public string Root { get; }

    public byte[] ModelBytes { get; }

    public string History { get; }

    public byte[] SecondModelBytes { get; }

    public string SecondHistory { get; }

    /// <summary>From the first line on stderr (the session is open) to the exit.</summary>
    public TimeSpan TrainingTime { get; }

    public string NewRunDir(string name) => Path.Combine(Root, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (byte[] Model, string History, TimeSpan Time) RunOnce(string runDir)
    {
        using var process = LoomProcess.Start(TinyDigits.TrainArgs(runDir, Epochs));
        Assert.True(process.WaitUntil(() => process.Stderr.Length > 0, TimeSpan.FromMinutes(2)), "no output from loom train");
        var clock = Stopwatch.StartNew();
        var exit = process.WaitForExit(TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, $"reference run failed: exit {exit}\n{process.Stderr}");
        var run = new global::Loom.Training.RunDirectory(runDir);
        return (File.ReadAllBytes(run.Model), File.ReadAllText(run.History), clock.Elapsed);
    }
}
