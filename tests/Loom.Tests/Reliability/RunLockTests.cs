using System.Diagnostics;
using Loom.Tests.Data;
using Loom.Training;

namespace Loom.Tests.Reliability;

public sealed class RunLockTests
{
    [Fact]
    public void ALiveOwnerIsRefusedAndReleasingFreesTheRun()
    {
        using var dir = new TempDirectory();
        var run = new RunDirectory(dir.File("run"));
        using (var held = RunLock.Acquire(run))
        {
            Assert.Equal($"pid {Environment.ProcessId} start", string.Join(' ', File.ReadAllText(run.Lock).Split(' ').Take(3)));
            var e = Assert.Throws<LoomException>(() => RunLock.Acquire(run));
            Assert.Equal($"run: {run.Path} is in use by another loom process (pid {Environment.ProcessId}); wait for it to finish, or use another --out", e.Message);
        }
        Assert.False(File.Exists(run.Lock));
        using var again = RunLock.Acquire(run);
        Assert.True(File.Exists(run.Lock));
    }

    [Fact]
    public void ADeadOwnersLockAndATornLockAreStale()
    {
        using var dir = new TempDirectory();
        var run = new RunDirectory(dir.File("run"));
        Directory.CreateDirectory(run.Path);
        int deadPid;
        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            gone.WaitForExit();
            deadPid = gone.Id;
        }
        foreach (var content in new[] { $"pid {deadPid} start 1\n", "", "pi", $"pid {Environment.ProcessId} start 12345\n" })
        {
            // The last: this process's pid with another start time, i.e. a reused pid.
            File.WriteAllText(run.Lock, content);
            using (var taken = RunLock.Acquire(run)) Assert.StartsWith($"pid {Environment.ProcessId} ", File.ReadAllText(run.Lock), StringComparison.Ordinal);
            Assert.False(File.Exists(run.Lock));
        }
    }

    [Fact]
    public void ResumeRemovesTheTemporariesAKilledWriterLeft()
    {
        using var dir = new TempDirectory();
        var run = new RunDirectory(dir.File("run"));
        Directory.CreateDirectory(run.Path);
        File.WriteAllText(run.Combine(".checkpoint.safetensors.0123.tmp"), "half");
        File.WriteAllText(run.Combine("keep.txt"), "x");
        using var held = RunLock.Acquire(run);
        held.RemoveStaleTemporaries();
        Assert.Equal([".lock", "keep.txt"], Directory.GetFiles(run.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
