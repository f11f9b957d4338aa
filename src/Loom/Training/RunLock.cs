using System.Diagnostics;
using System.Globalization;

namespace Loom.Training;

/// <summary>
/// Claims a run directory for one training process: the file <c>.lock</c> holds the owner's process id and start time.
/// A second process finds it and refuses, naming the owner; a lock left by a process that is gone (killed, crashed)
/// is stale and taken over, so a killed run can always be resumed. Creation is atomic (create-new), so two processes
/// racing for a free or stale lock cannot both win. Disposing releases the lock.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly string _path;
    private readonly string _content;
    private bool _released;

    private RunLock(string path, string content)
    {
        _path = path;
        _content = content;
    }

    /// <summary>Takes the lock of <paramref name="run"/> (creating the directory), or throws naming the process that holds it.</summary>
    public static RunLock Acquire(RunDirectory run)
    {
        try
        {
            Directory.CreateDirectory(run.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"run: cannot create the run directory {run.Path}: {e.Message}", e);
        }
        var content = Describe(Environment.ProcessId, StartTicks(Process.GetCurrentProcess()));
        // Two rounds at most: the first may find a stale lock and delete it; if another process then wins the
        // create-new race, the second round reports that process.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (TryCreate(run.Lock, content)) return new RunLock(run.Lock, content);
            var (pid, ticks, text) = ReadOwner(run.Lock);
            if (pid is { } owner && IsAlive(owner, ticks))
                throw new LoomException($"run: {run.Path} is in use by another loom process (pid {owner}); wait for it to finish, or use another --out");
            if (pid is null && text is null) continue; // vanished between the two calls: try again
            // Stale: the owner is gone (or the file is unreadable garbage). Remove it and retry the atomic create.
            TryDelete(run.Lock);
        }
        throw new LoomException($"run: {run.Path} is in use by another loom process (it took {run.Lock} while this one was starting)");
    }

    /// <summary>Deletes leftover temporary files (<c>.name.*.tmp</c>) that a killed writer left in the run directory.</summary>
    public void RemoveStaleTemporaries()
    {
        var dir = Path.GetDirectoryName(_path)!;
        foreach (var file in Directory.EnumerateFiles(dir, ".*.tmp")) TryDelete(file);
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        // Only remove the lock if it is still ours (never someone else's that replaced a lock we lost).
        try
        {
            if (File.Exists(_path) && File.ReadAllText(_path) == _content) File.Delete(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A lock we cannot remove is stale once this process exits, and is taken over then.
        }
    }

    private static bool TryCreate(string path, string content)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            var bytes = System.Text.Encoding.ASCII.GetBytes(content);
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"run: cannot create the lock file {path}: {e.Message}", e);
        }
    }

    private static (int? Pid, long Ticks, string? Text) ReadOwner(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return (null, 0, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"run: cannot read the lock file {path}: {e.Message}", e);
        }
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length >= 2 && parts[0] == "pid" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            var ticks = parts.Length >= 4 && parts[2] == "start" && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : 0;
            return (pid, ticks, text);
        }
        // A torn write (killed while creating the lock) leaves an empty or partial file: treat it as stale.
        return (null, 0, text);
    }

    /// <summary>Whether process <paramref name="pid"/> runs and (when known) started at <paramref name="ticks"/>: a reused pid is not the owner.</summary>
    private static bool IsAlive(int pid, long ticks)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            if (process.HasExited) return false;
            return ticks == 0 || Math.Abs(StartTicks(process) - ticks) <= 2;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static long StartTicks(Process process)
    {
        try
        {
            // Rounded to a second: the start time read back through /proc has coarser resolution than the original.
            return process.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return 0;
        }
    }

    private static string Describe(int pid, long ticks) => string.Create(CultureInfo.InvariantCulture, $"pid {pid} start {ticks}\n");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next attempt to report.
        }
    }
}
