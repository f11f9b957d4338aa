using System.Text.Json;
using Loom.Interop;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>
/// The recurrent reference files (tests/reference/rnn_reference.py) read with <see cref="Safetensors"/>: cases are
/// keyed <c>caseNNNN.name</c>, with each case's configuration as JSON in the metadata.
/// </summary>
internal sealed class ReferenceFile
{
    private ReferenceFile(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    public Dictionary<string, Tensor> Tensors { get; }

    public Dictionary<string, string> Metadata { get; }

    public int Count => int.Parse(Metadata["count"]);

    public static ReferenceFile Load(string path)
    {
        var content = Safetensors.Load(path);
        return new ReferenceFile(content.Tensors, content.Metadata);
    }

    /// <summary>The configuration of case <paramref name="index"/> (JSON in the metadata).</summary>
    public JsonElement Config(int index) => JsonDocument.Parse(Metadata[CaseKey(index)]).RootElement;

    /// <summary>The tensors of one case, keyed without the <c>caseNNNN.</c> prefix.</summary>
    public Dictionary<string, Tensor> Case(int index)
    {
        var prefix = CaseKey(index) + ".";
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, value) in Tensors)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) result[key[prefix.Length..]] = value;
        return result;
    }

    private static string CaseKey(int index) => $"case{index:D4}";

    /// <summary>The folder holding Loom.slnx, found by walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Loom.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>$LOOM_REFERENCE_DIR/rnn when CI regenerated it, else the committed tests/reference/data/rnn.</summary>
    public static string Dir
    {
        get
        {
            if (Environment.GetEnvironmentVariable("LOOM_REFERENCE_DIR") is { Length: > 0 } d && File.Exists(Path.Combine(d, "rnn", "rnn.safetensors")))
                return Path.Combine(d, "rnn");
            return Path.Combine(RepoRoot(), "tests", "reference", "data", "rnn");
        }
    }

    public static string Script => Path.Combine(RepoRoot(), "tests", "reference", "rnn_reference.py");
}
