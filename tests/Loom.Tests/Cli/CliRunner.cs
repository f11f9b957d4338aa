using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Loom.Tests.Cli;

/// <summary>What one run of the command line gave back.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The non-empty lines of standard error.</summary>
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>For assertion messages: the exit code and both streams.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Options for one run: working directory, extra environment variables, standard input, time limit.</summary>
internal sealed record CliRunOptions
{
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables to set (a null value removes the variable) in the child's environment.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Text written to standard input, which is then closed (closed at once when null).</summary>
    public string? Stdin { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Runs the built <c>loom</c> command line out of process, as a user would: <c>dotnet &lt;cli&gt;.dll args…</c>, capturing
/// stdout, stderr and the exit code. The test project builds src/Loom.Cli without referencing it (see the .csproj);
/// the CLI is found under the repository root (the folder holding Loom.slnx) in
/// <c>src/Loom.Cli/bin/&lt;Configuration&gt;/&lt;tfm&gt;/</c> (or the artifacts layout), as the one assembly there with a
/// <c>.runtimeconfig.json</c>. <c>LOOM_CLI_DLL</c> overrides the path.
/// </summary>
internal static class CliRunner
{
    private static readonly Lazy<string> LazyRepoRoot = new(FindRepoRoot);
    private static readonly Lazy<string> LazyCliDll = new(FindCliDll);

    /// <summary>The repository root: the nearest folder above the test binaries that holds Loom.slnx.</summary>
    public static string RepoRoot => LazyRepoRoot.Value;

    /// <summary>The CLI's entry assembly.</summary>
    public static string CliDll => LazyCliDll.Value;

    /// <summary>Runs <c>loom args…</c> and waits for it.</summary>
    public static CliResult Run(params string[] args) => Run(args, options: null);

    /// <summary>Runs <c>loom args…</c> with <paramref name="options"/> and waits for it.</summary>
    public static CliResult Run(IEnumerable<string> args, CliRunOptions? options)
    {
        options ??= new CliRunOptions();
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = options.WorkingDirectory ?? RepoRoot,
        };
        start.ArgumentList.Add(CliDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (options.Environment is not null)
        {
            foreach (var (name, value) in options.Environment)
            {
                if (value is null) start.Environment.Remove(name);
                else start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (options.Stdin is not null) process.StandardInput.Write(options.Stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(options.Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"loom {string.Join(' ', args)} did not finish within {options.Timeout}\n--- stdout ---\n{stdout.Result}\n--- stderr ---\n{stderr.Result}");
        }
        process.WaitForExit(); // let the output readers finish
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Loom.slnx in any folder above {AppContext.BaseDirectory}");
    }

    private static string FindCliDll()
    {
        var overridden = Environment.GetEnvironmentVariable("LOOM_CLI_DLL");
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(overridden) ? Path.GetFullPath(overridden)
                : throw new InvalidOperationException($"LOOM_CLI_DLL={overridden}: no such file");
        }
        // The configuration and target framework the tests were built with; the CLI is built alongside them.
        var configuration = typeof(CliRunner).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var tfm = new DirectoryInfo(AppContext.BaseDirectory).Name;
        if (!tfm.StartsWith("net", StringComparison.Ordinal)) tfm = "net10.0";
        string[] candidates =
        [
            Path.Combine(RepoRoot, "src", "Loom.Cli", "bin", configuration, tfm),
            Path.Combine(RepoRoot, "artifacts", "bin", "Loom.Cli", configuration.ToLowerInvariant()),
            Path.Combine(RepoRoot, "artifacts", "bin", "Loom.Cli", $"{configuration.ToLowerInvariant()}_{tfm}"),
        ];
        foreach (var dir in candidates.Where(Directory.Exists))
        {
            // The entry assembly is the one with a runtimeconfig.json next to it, whatever its name.
            var config = Directory.GetFiles(dir, "*.runtimeconfig.json").FirstOrDefault();
            if (config is null) continue;
            var dll = config[..^".runtimeconfig.json".Length] + ".dll";
            if (File.Exists(dll)) return dll;
        }
        throw new InvalidOperationException($"the CLI is not built: no entry assembly in {string.Join(", ", candidates)} (run dotnet build at {RepoRoot})");
    }

    /// <summary>The dotnet host: the one running the build/test (DOTNET_HOST_PATH), this process if it is dotnet, else PATH's.</summary>
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root))
        {
            var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate)) return candidate;
        }
        return "dotnet";
    }
}
