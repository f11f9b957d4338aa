namespace Loom.Tests;

/// <summary>
/// Preconditions a test needs from the machine. When one is missing the test is skipped with a message saying
/// what to install, except under CI (<c>CI=true</c>), where CI installs everything and a missing piece is a
/// failure, so a broken CI setup cannot hide as a row of skips.
/// </summary>
internal static class Requirements
{
    /// <summary>Whether this run is CI (the environment variable <c>CI</c> is <c>true</c> or <c>1</c>).</summary>
    public static bool IsCi =>
        Environment.GetEnvironmentVariable("CI") is { } ci && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>
    /// Requires the file or directory <paramref name="path"/> that the Debian package <paramref name="package"/> installs.
    /// </summary>
    /// <example><c>Requirements.DebianPackage("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist");</c></example>
    public static void DebianPackage(string package, string path) => Enforce(CheckDebianPackage(package, path, IsCi));

    /// <summary>What <see cref="DebianPackage(string, string)"/> would do: null when satisfied.</summary>
    internal static Verdict? CheckDebianPackage(string package, string path, bool ci) =>
        File.Exists(path) || Directory.Exists(path)
            ? null
            : Missing($"{path} is missing: it comes with the Debian package {package} (apt-get install {package})", ci);

    /// <summary>The verdict for a missing requirement: skip, or under CI fail.</summary>
    internal static Verdict Missing(string reason, bool ci) =>
        ci ? new Verdict(Fail: true, $"CI=true and a requirement is missing: {reason}") : new Verdict(Fail: false, reason);

    /// <summary>Skips or fails the running test as <paramref name="verdict"/> says; does nothing for null.</summary>
    internal static void Enforce(Verdict? verdict)
    {
        if (verdict is null) return;
        if (verdict.Fail) Assert.Fail(verdict.Message);
        Assert.Skip(verdict.Message);
    }

    /// <summary>A missing requirement's consequence.</summary>
    internal sealed record Verdict(bool Fail, string Message);
}
