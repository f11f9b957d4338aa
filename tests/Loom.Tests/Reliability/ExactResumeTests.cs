using Loom.Tests.Cli;
using Loom.Training;

namespace Loom.Tests.Reliability;

/// <summary>
/// The acceptance check of exact resume, on the real command: <c>loom train --data digits --model smallcnn
/// --epochs 2 --seed 5</c> killed with SIGKILL after its first epoch's checkpoint and resumed ends with a
/// <c>model.safetensors</c> (and <c>history.csv</c>) byte-identical to an uninterrupted run. Minutes long: explicit.
/// </summary>
public sealed class ExactResumeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(20);

    [Fact(Explicit = true)]
    public void DigitsSmallcnnKilledAfterTheFirstCheckpointAndResumedIsByteIdentical()
    {
        using var root = new Data.TempDirectory();
        string[] Args(string dir) => ["train", "--data", "digits", "--model", "smallcnn", "--epochs", "2", "--seed", "5", "--out", dir];
        var full = root.File("full");
        var uninterrupted = CliRunner.Run(Args(full), new CliRunOptions { Timeout = Patience });
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.ToString());

        var killed = root.File("killed");
        using (var process = LoomProcess.Start(Args(killed)))
        {
            var run = new RunDirectory(killed);
            // The epoch-1 checkpoint: its val row is flushed first, then the checkpoint is renamed into place.
            Assert.True(process.WaitUntil(() => File.Exists(run.Checkpoint) && File.Exists(run.History)
                && File.ReadAllText(run.History).Contains(",val,", StringComparison.Ordinal) && RunFiles.Position(killed).Epoch == 1, Patience), process.Stderr);
            process.Kill();
        }
        Assert.Equal((1, 0), (RunFiles.Position(killed).Epoch, RunFiles.Position(killed).Batch));
        Assert.False(File.Exists(new RunDirectory(killed).Model));
        var resumed = CliRunner.Run(["train", "--resume", killed], new CliRunOptions { Timeout = Patience });
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("resuming at epoch 2, batch 1", resumed.Stderr, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(new RunDirectory(full).Model), File.ReadAllBytes(new RunDirectory(killed).Model));
        Assert.Equal(File.ReadAllText(new RunDirectory(full).History), File.ReadAllText(new RunDirectory(killed).History));
        Figures.Write($"uninterrupted: {uninterrupted.Stdout}\nresumed: {resumed.Stdout}");
    }
}
