namespace Loom.Tests.Reference;

/// <summary>Where the PyTorch reference values live: $LOOM_REFERENCE_DIR if set (CI's fresh seed), else the committed set.</summary>
internal static class ReferenceFiles
{
    /// <summary>The folder holding Loom.slnx, found by walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Loom.slnx above {AppContext.BaseDirectory}");
    }

    public static string CommittedDir => Path.Combine(RepoRoot(), "tests", "reference", "data");

    public static string GeneratorScript => Path.Combine(RepoRoot(), "tests", "reference", "generate.py");

    public static string Dir => Environment.GetEnvironmentVariable("LOOM_REFERENCE_DIR") is { Length: > 0 } d ? d : CommittedDir;

    /// <summary>The op families the generator writes, one safetensors file each.</summary>
    public static readonly string[] Families =
        ["conv2d", "conv1d", "conv_transpose2d", "max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d", "adaptive_avg_pool2d"];
}
