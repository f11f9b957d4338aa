using System.Diagnostics;
using System.Text;
using Loom.Tests.Cli;

namespace Loom.Tests.Reliability;

/// <summary>
/// A <c>loom</c> command line running out of process that a test can watch (its stderr lines arrive as they are
/// written), interrupt (SIGINT, as Ctrl-C) or kill (SIGKILL, as a crash or power cut would end it).
/// </summary>
internal sealed class LoomProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();
    private readonly List<Thread> _pumps = [];

    private LoomProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public static LoomProcess Start(params string[] args) => StartWith(CliRunner.CliDll, args);

    /// <summary>Starts <c>loom args…</c> from the CLI assembly <paramref name="cliDll"/> (e.g. a Release build).</summary>
    public static LoomProcess StartWith(string cliDll, params string[] args)
    {
        // Through env --default-signal=INT (coreutils): a process started from a non-interactive shell's background job
        // (as CI runners and this suite's own parents may be) inherits SIGINT as ignored, and .NET keeps an inherited
        // ignore, so the Ctrl-C under test would never arrive. A user's terminal delivers it; so does this.
        var start = new ProcessStartInfo("env")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = CliRunner.RepoRoot,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add(DotnetHost());
        start.ArgumentList.Add(cliDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = start };
        var result = new LoomProcess(process);
        process.Start();
        process.StandardInput.Close();
        // Each stream is read on its own thread, not through the thread pool (BeginErrorReadLine): when the whole suite
        // runs in parallel the pool is starved by tests blocked on other processes, and progress lines then reached
        // the test seconds late, after a tiny run had already finished.
        result._pumps.Add(Pump(process.StandardOutput, result._stdout, result._gate));
        result._pumps.Add(Pump(process.StandardError, result._stderr, result._gate));
        return result;
    }

    private static Thread Pump(StreamReader reader, StringBuilder text, object gate)
    {
        var thread = new Thread(() =>
        {
            while (reader.ReadLine() is { } line)
                lock (gate) text.Append(line).Append('\n');
        })
        { IsBackground = true, Name = "loom process output" };
        thread.Start();
        return thread;
    }

    /// <summary>After the exit: waits until the readers have taken the last lines from the pipes.</summary>
    private void Drain()
    {
        foreach (var pump in _pumps) pump.Join(TimeSpan.FromSeconds(30));
    }

    public string Stdout
    {
        get
        {
            lock (_gate) return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate) return _stderr.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits until <paramref name="condition"/> holds, polling; false if the process ended or the time ran out first.</summary>
    public bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            if (_process.HasExited)
            {
                Drain();
                return condition();
            }
            Thread.Sleep(5);
        }
        return false;
    }

    /// <summary>SIGKILL: the process ends at once, in whatever it was doing.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.WaitForExit();
        Drain();
    }

    /// <summary>SIGINT, as Ctrl-C in a terminal.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the exit and returns the code (kills it and fails past <paramref name="timeout"/>).</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"loom did not finish within {timeout}\n--- stderr ---\n{Stderr}");
        }
        Drain();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }

    internal static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
        return "dotnet";
    }
}
