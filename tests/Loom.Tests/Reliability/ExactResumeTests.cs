using System.Diagnostics;
using System.Security.Cryptography;
using Loom.Tests.Cli;
using Loom.Training;

namespace Loom.Tests.Reliability;

/// <summary>
/// The acceptance check of exact resume, on the real command: <c>loom train --data digits --model smallcnn
/// --epochs 2 --seed 5</c> killed with SIGKILL after its first epoch's checkpoint and resumed ends with a
/// <c>model.safetensors</c> (and <c>history.csv</c>) byte-identical to an uninterrupted run. Minutes long: explicit.
/// </summary>
/// <remarks>
/// It runs the Release CLI, which it builds first (an up-to-date build takes seconds), or the one <c>LOOM_CLI_DLL</c>
/// names: a Debug build trains smallcnn at a few samples per second on a loaded machine, and the test once timed out
/// with it. Each of the three runs may take <see cref="Patience"/>: a Release run took ~5 minutes on the shared 2-core
/// machine under a load of 20.
/// </remarks>
public sealed class ExactResumeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(30);

    [Fact(Explicit = true)]
    public void DigitsSmallcnnKilledAfterTheFirstCheckpointAndResumedIsByteIdentical()
    {
        var cli = ReleaseCli();
        using var root = new Data.TempDirectory();
        string[] Args(string dir) => ["train", "--data", "digits", "--model", "smallcnn", "--epochs", "2", "--seed", "5", "--out", dir];
        var full = root.File("full");
        string uninterrupted;
        using (var process = LoomProcess.StartWith(cli, Args(full)))
        {
            Assert.True(process.WaitForExit(Patience) == 0, process.Stderr);
            uninterrupted = process.Stdout;
        }

        var killed = root.File("killed");
        using (var process = LoomProcess.StartWith(cli, Args(killed)))
        {
            var run = new RunDirectory(killed);
            // The epoch-1 checkpoint: its val row is flushed first, then the checkpoint is renamed into place.
            Assert.True(process.WaitUntil(() => File.Exists(run.Checkpoint) && File.Exists(run.History)
                && File.ReadAllText(run.History).Contains(",val,", StringComparison.Ordinal) && RunFiles.Position(killed).Epoch == 1, Patience), process.Stderr);
            process.Kill();
        }
        Assert.Equal((1, 0), (RunFiles.Position(killed).Epoch, RunFiles.Position(killed).Batch));
        Assert.False(File.Exists(new RunDirectory(killed).Model));
        string resumedStdout;
        using (var process = LoomProcess.StartWith(cli, "train", "--resume", killed))
        {
            Assert.True(process.WaitForExit(Patience) == 0, process.Stderr);
            Assert.Contains("resuming at epoch 2, batch 1", process.Stderr, StringComparison.Ordinal);
            resumedStdout = process.Stdout;
        }
        var (fullRun, killedRun) = (new RunDirectory(full), new RunDirectory(killed));
        Assert.Equal(File.ReadAllBytes(fullRun.Model), File.ReadAllBytes(killedRun.Model));
        Assert.Equal(File.ReadAllText(fullRun.History), File.ReadAllText(killedRun.History));
        Figures.Write($"digits smallcnn seed 5, killed after epoch 1 and resumed: model.safetensors SHA-256 {Sha256(killedRun.Model)} (uninterrupted {Sha256(fullRun.Model)}), " +
            $"history.csv {Sha256(killedRun.History)} (uninterrupted {Sha256(fullRun.History)})\nuninterrupted: {uninterrupted.Trim()}\nresumed: {resumedStdout.Trim()}");
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary><c>LOOM_CLI_DLL</c> when set, else <c>dotnet build -c Release src/Loom.Cli</c> and its output.</summary>
    private static string ReleaseCli()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("LOOM_CLI_DLL"))) return CliRunner.CliDll;
        var project = Path.Combine(CliRunner.RepoRoot, "src", "Loom.Cli");
        var start = new ProcessStartInfo(LoomProcess.DotnetHost(), ["build", "-c", "Release", "--nologo", "-v", "q", project])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = CliRunner.RepoRoot,
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        // Set by a parent `dotnet test`; the child build must find its own SDK.
        foreach (var inherited in new[] { "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(inherited);
        using var build = Process.Start(start)!;
        var output = build.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = build.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(build.WaitForExit(Patience), "dotnet build -c Release src/Loom.Cli did not finish");
        build.WaitForExit();
        Assert.True(build.ExitCode == 0, $"dotnet build -c Release src/Loom.Cli exited {build.ExitCode}:\n{output.Result}\n{errors.Result}");
        var dll = Path.Combine(project, "bin", "Release", "net10.0", "Loom.Cli.dll");
        Assert.True(File.Exists(dll), $"the Release build left no {dll}");
        return dll;
    }
}
