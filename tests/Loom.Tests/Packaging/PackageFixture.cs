using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Loom.Tests.Packaging;

/// <summary>
/// Packs the <c>Loom</c> library and the <c>Loom.Tool</c> .NET tool into a temporary folder once per test class, from
/// the binaries this test run was built with (<c>dotnet pack --no-build</c>: seconds, not a second build), and sets up an
/// isolated NuGet world for consumers: their own package cache (<c>NUGET_PACKAGES</c>) and a <c>nuget.config</c> whose
/// only sources are the packed folder (for <c>Loom*</c>, by package source mapping, so no stale copy can win) and the
/// machine's package cache used as an offline feed for the dependencies (System.Numerics.Tensors, Google.Protobuf,
/// System.IO.Hashing), so nothing is downloaded. tests/long/pack-clean-clone.sh does the same from a fresh clone with a
/// Release build.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("loom-pack-");

    public PackageFixture()
    {
        Artifacts = Directory.CreateDirectory(Path.Combine(_root.FullName, "artifacts")).FullName;
        Packages = Directory.CreateDirectory(Path.Combine(_root.FullName, "packages")).FullName;
        Work = Directory.CreateDirectory(Path.Combine(_root.FullName, "work")).FullName;
        var configuration = typeof(PackageFixture).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        foreach (var project in new[] { "Loom", "Loom.Cli" })
        {
            PackLog += Dotnet(RepoRoot, TimeSpan.FromMinutes(4), "pack", Path.Combine(RepoRoot, "src", project, project + ".csproj"),
                "-c", configuration, "--no-build", "--no-restore", "--disable-build-servers", "-o", Artifacts);
        }
        var feed = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(Work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="loom" value="{Artifacts}" />
                <add key="machine-cache" value="{feed}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="loom">
                  <package pattern="Loom" />
                  <package pattern="Loom.*" />
                </packageSource>
                <packageSource key="machine-cache">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
    }

    /// <summary>The repository root (the folder holding Loom.slnx).</summary>
    public static string RepoRoot => Cli.CliRunner.RepoRoot;

    /// <summary>The folder the packages were written to.</summary>
    public string Artifacts { get; }

    /// <summary>The consumers' own NuGet package cache.</summary>
    public string Packages { get; }

    /// <summary>A folder outside the repository holding the isolated nuget.config; consumers live under it.</summary>
    public string Work { get; }

    /// <summary>What the two <c>dotnet pack</c> runs printed.</summary>
    public string PackLog { get; } = "";

    /// <summary>The version of a packed package, from its file name (<c>Loom.0.1.0.nupkg</c> → 0.1.0).</summary>
    public string Version(string id)
    {
        var prefix = id + ".";
        var file = Directory.GetFiles(Artifacts, prefix + "*.nupkg").Select(Path.GetFileName)
            .Single(f => f!.Length > prefix.Length && char.IsDigit(f[prefix.Length]));
        return file![prefix.Length..^".nupkg".Length];
    }

    /// <summary>Runs <c>dotnet args…</c> in <paramref name="directory"/> with the isolated package cache; fails the test unless it exits 0.</summary>
    public string Run(string directory, TimeSpan timeout, params string[] args) => Dotnet(directory, timeout, args, Packages);

    /// <summary>Runs a program with the isolated package cache; returns its exit code and output.</summary>
    public (int Code, string Output) Exec(string fileName, string directory, TimeSpan timeout, params string[] args) =>
        Start(fileName, directory, timeout, args, Packages);

    private static string Dotnet(string directory, TimeSpan timeout, params string[] args) => Dotnet(directory, timeout, args, packages: null);

    private static string Dotnet(string directory, TimeSpan timeout, string[] args, string? packages)
    {
        var (code, output) = Start(DotnetHost(), directory, timeout, args, packages);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} (in {directory}) exited {code}:\n{output}");
        return output;
    }

    private static (int Code, string Output) Start(string fileName, string directory, TimeSpan timeout, string[] args, string? packages)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        // Set by a parent `dotnet test`; a child SDK command must find its own.
        foreach (var inherited in new[] { "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(inherited);
        if (packages is not null) start.Environment["NUGET_PACKAGES"] = packages;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"{fileName} {string.Join(' ', args)} ran longer than {timeout}\n{stdout.Result}{stderr.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The dotnet host running this test (DOTNET_HOST_PATH), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public void Dispose()
    {
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder is not a test failure.
        }
    }
}
