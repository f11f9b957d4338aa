using System.Diagnostics;

namespace Loom.Tests;

/// <summary>
/// Runs Debian's PyTorch (<c>/usr/bin/python3</c> with the package <c>python3-torch</c>) for the tests that compare
/// with it. <see cref="Require"/> skips the test when torch cannot be imported, or fails it under CI (see
/// <see cref="Requirements"/>).
/// </summary>
internal static class TorchPython
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> MissingReason = new(Check);

    /// <summary>Skips (or under CI fails) the running test unless <c>/usr/bin/python3</c> can import torch.</summary>
    public static void Require()
    {
        if (MissingReason.Value is { } reason)
            Requirements.Enforce(Requirements.Missing(
                $"comparing with PyTorch needs the Debian package python3-torch (apt-get update && apt-get install -y python3-torch): {reason}",
                Requirements.IsCi));
    }

    /// <summary>A path under the repository root.</summary>
    public static string RepoPath(params string[] parts) => Path.Combine([Reference.ReferenceFiles.RepoRoot(), .. parts]);

    /// <summary>Runs <c>/usr/bin/python3</c> with <paramref name="args"/>; returns the exit code and stdout + stderr.</summary>
    public static (int Code, string Output) Run(IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{Python} {string.Join(' ', args)} ran longer than {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs a script and fails the test with its output unless it exits 0.</summary>
    public static string RunOrFail(params string[] args)
    {
        var (code, output) = Run(args, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"{Python} {string.Join(' ', args)} exited {code}:\n{output}");
        return output;
    }

    private static string? Check()
    {
        if (!File.Exists(Python)) return $"{Python} does not exist";
        try
        {
            var (code, output) = Run(["-c", "import torch"], TimeSpan.FromMinutes(2));
            return code == 0 ? null : $"{Python} cannot import torch: {output.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Python} cannot be started: {e.Message}";
        }
    }
}
