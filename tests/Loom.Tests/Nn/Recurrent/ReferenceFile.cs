using System.Buffers.Binary;
using System.Text.Json;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>
/// A minimal safetensors reader for the recurrent reference files (u64 LE header length, JSON header, raw little-endian
/// data; F32, F64, I32 and I64 become float32, float64 and int32 tensors). Written here because Loom.Interop.Safetensors
/// was not on main yet; once it is, this can go.
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
        var bytes = File.ReadAllBytes(path);
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var data = bytes.AsSpan(8 + headerLength);
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            var dims = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var raw = data[offsets[0]..offsets[1]];
            var shape = new Shape(dims);
            tensors[entry.Name] = entry.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => Tensor.Wrap(Convert(raw, 4, r => BinaryPrimitives.ReadSingleLittleEndian(r)), shape),
                "F64" => Tensor.Wrap(Convert(raw, 8, r => BinaryPrimitives.ReadDoubleLittleEndian(r)), shape),
                "I32" => Tensor.Wrap(Convert(raw, 4, r => BinaryPrimitives.ReadInt32LittleEndian(r)), shape),
                "I64" => Tensor.Wrap(Convert(raw, 8, r => checked((int)BinaryPrimitives.ReadInt64LittleEndian(r))), shape),
                var other => throw new InvalidDataException($"{path}: {entry.Name} has unsupported dtype {other}"),
            };
        }
        return new ReferenceFile(tensors, metadata);
    }

    private delegate T Reader<T>(ReadOnlySpan<byte> bytes);

    private static T[] Convert<T>(ReadOnlySpan<byte> raw, int size, Reader<T> read)
    {
        var values = new T[raw.Length / size];
        for (var i = 0; i < values.Length; i++) values[i] = read(raw.Slice(i * size, size));
        return values;
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
