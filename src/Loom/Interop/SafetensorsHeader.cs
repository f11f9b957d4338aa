using System.Text;
using System.Text.Json;

namespace Loom.Interop;

/// <summary>One tensor's entry in a safetensors header: its dtype, shape and byte range within the data section.</summary>
/// <param name="Name">The key.</param>
/// <param name="DType">The format's dtype string (F32, F64, I32, I64, F16, BF16).</param>
/// <param name="Shape">Sizes of the axes.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte.</param>
public sealed record SafetensorsEntry(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes.</summary>
    public long Length => End - Begin;
}

/// <summary>
/// Parses and validates a safetensors header against the size of the data that follows it, as the reference
/// implementation does: valid UTF-8 JSON object; each tensor has a known dtype, a shape of non-negative sizes and
/// data_offsets [begin, end] with shape product × dtype size = end − begin; sorted by begin, the tensors tile the
/// data section exactly (no overlap, no gap, nothing past the end). Every error names the key.
/// </summary>
internal static class SafetensorsHeader
{
    internal const string MetadataKey = "__metadata__";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes per element of a dtype Loom reads, or 0 for one it does not.</summary>
    internal static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" => 2,
        _ => 0,
    };

    private static readonly HashSet<string> OtherFormatDTypes =
        ["BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"];

    /// <summary>Parses <paramref name="header"/>; <paramref name="dataLength"/> is the number of bytes after it.</summary>
    internal static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> header, long dataLength)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new LoomException($"safetensors: the header is not valid UTF-8 ({ErrorText.Visible(e.Message)})", e);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new LoomException($"safetensors: the header is not valid JSON ({ErrorText.Visible(e.Message)})", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new LoomException($"safetensors: the header must be a JSON object, found a {root.ValueKind}");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new LoomException($"safetensors: key '{property.Name}' appears twice in the header");
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata);
                else entries.Add(ReadEntry(property.Name, property.Value, dataLength));
            }
            CheckTiling(entries, dataLength);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new LoomException($"safetensors: '{MetadataKey}' must be an object of strings, found a {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new LoomException($"safetensors: metadata value of '{item.Name}' must be a string, found a {item.Value.ValueKind}");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new LoomException($"safetensors: metadata key '{item.Name}' appears twice");
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new LoomException($"safetensors: tensor '{name}': entry must be an object with dtype, shape and data_offsets, found a {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new LoomException($"safetensors: tensor '{name}': missing string field 'dtype'");
        var dtype = dtypeElement.GetString()!;
        var size = ElementSize(dtype);
        if (size == 0)
        {
            throw new LoomException(OtherFormatDTypes.Contains(dtype)
                ? $"safetensors: tensor '{name}': dtype {dtype} is not supported by Loom (it reads F32, F64, I32, I64, F16, BF16)"
                : $"safetensors: tensor '{name}': unknown dtype '{dtype}'");
        }

        var shape = ReadIntegers(name, value, "shape", expectedCount: -1);
        var offsets = ReadIntegers(name, value, "data_offsets", expectedCount: 2);
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
            throw new LoomException($"safetensors: tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        if (end > dataLength)
            throw new LoomException($"safetensors: tensor '{name}': data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes; the file may be truncated)");

        var numel = 1L;
        var dims = new int[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] > int.MaxValue)
                throw new LoomException($"safetensors: tensor '{name}': size {shape[i]} of axis {i} is too large");
            dims[i] = (int)shape[i];
            // Saturating product: a declared 10^30-element tensor must fail the byte check below, not overflow.
            numel = shape[i] == 0 ? 0 : numel > long.MaxValue / shape[i] ? long.MaxValue : numel * shape[i];
        }
        if (numel > (end - begin) / size || numel * size != end - begin)
        {
            throw new LoomException($"safetensors: tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype} needs {FormatBytes(shape, size)} " +
                $"but data_offsets [{begin}, {end}] hold {end - begin} bytes");
        }
        if (numel > int.MaxValue)
            throw new LoomException($"safetensors: tensor '{name}': {numel} elements exceed the {int.MaxValue} a Loom tensor holds");
        return new SafetensorsEntry(name, dtype, dims, begin, end);
    }

    private static long[] ReadIntegers(string name, JsonElement entry, string field, int expectedCount)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new LoomException($"safetensors: tensor '{name}': missing array field '{field}'");
        var count = array.GetArrayLength();
        if (expectedCount >= 0 && count != expectedCount)
            throw new LoomException($"safetensors: tensor '{name}': '{field}' must have {expectedCount} entries, found {count}");
        var values = new long[count];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new LoomException($"safetensors: tensor '{name}': '{field}' entry {i} ({item.GetRawText()}) is not a non-negative integer");
            values[i++] = v;
        }
        return values;
    }

    /// <summary>Sorted by begin, the entries must cover [0, dataLength) exactly, each starting where the previous ended.</summary>
    private static void CheckTiling(List<SafetensorsEntry> entries, long dataLength)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        var position = 0L;
        SafetensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < position)
            {
                throw new LoomException($"safetensors: tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            }
            if (e.Begin > position)
            {
                var after = previous is null ? "the start of the data section" : $"tensor '{previous.Name}' (ends at {previous.End})";
                throw new LoomException($"safetensors: tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - position} bytes after {after}");
            }
            position = e.End;
            previous = e;
        }
        if (position != dataLength)
            throw new LoomException($"safetensors: the data section has {dataLength} bytes but the tensors cover only {position}; {dataLength - position} trailing bytes belong to no tensor");
    }

    private static string FormatBytes(long[] shape, int size)
    {
        var total = (System.Numerics.BigInteger)size;
        foreach (var d in shape) total *= d;
        return $"{total} bytes";
    }
}
