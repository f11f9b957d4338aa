using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Loom.Interop;

/// <summary>The tensors and the <c>__metadata__</c> string map of a safetensors file.</summary>
/// <param name="Tensors">The tensors by key.</param>
/// <param name="Metadata">The free-form string map (empty when the file has none).</param>
public sealed record SafetensorsContent(Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata);

/// <summary>
/// Reads and writes the safetensors format (Hugging Face, used by PyTorch): an 8-byte little-endian header length
/// N, N bytes of UTF-8 JSON (<c>{"__metadata__": {...}, "name": {"dtype": "F32", "shape": [..], "data_offsets":
/// [begin, end]}, ...}</c>, padded with spaces to a multiple of 8 as the reference implementation writes it), then
/// the tensors' little-endian bytes, contiguous, offsets relative to the end of the header.
/// Writes F32, F64 and I32. Reads F32, F64, I32, I64 (as int32, range-checked) and F16/BF16 (converted to float32).
/// Every header field is validated against the file length before anything large is allocated.
/// </summary>
/// <example>
/// <code>
/// Safetensors.Save("model.safetensors", new Dictionary&lt;string, Tensor&gt; { ["conv1.weight"] = w });
/// var (tensors, metadata) = Safetensors.Load("model.safetensors");
/// </code>
/// </example>
public static class Safetensors
{
    /// <summary>The largest header accepted (100 MB), as the reference implementation.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads a safetensors file. Every error names the file (and the key, where one is at fault).</summary>
    public static SafetensorsContent Load(string path)
    {
        if (!File.Exists(path)) throw new LoomException($"safetensors: {path} does not exist");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Load(stream);
        }
        catch (LoomException e) when (e.Message.StartsWith(ErrorPrefix, StringComparison.Ordinal))
        {
            throw new LoomException($"{ErrorPrefix}{path}: {e.Message[ErrorPrefix.Length..]}", e);
        }
        catch (IOException e)
        {
            throw new LoomException($"{ErrorPrefix}{path}: cannot be read ({e.Message})", e);
        }
    }

    private const string ErrorPrefix = "safetensors: ";

    /// <summary>Reads a safetensors image held in memory.</summary>
    public static SafetensorsContent Load(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return Load(stream);
    }

    /// <summary>Reads safetensors from a stream positioned at its start (a non-seekable stream is buffered first).</summary>
    public static SafetensorsContent Load(Stream stream)
    {
        if (!stream.CanSeek)
        {
            using var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            return Load(buffered);
        }

        var total = stream.Length - stream.Position;
        if (total < 8)
            throw new LoomException($"safetensors: {total} bytes are too few for the 8-byte header length (truncated or not a safetensors file)");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw new LoomException($"safetensors: header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit (corrupt or not a safetensors file)");
        if ((long)headerLength > total - 8)
            throw new LoomException($"safetensors: header length {headerLength} is longer than the {total - 8} bytes that follow it (truncated or not a safetensors file)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataLength = total - 8 - (long)headerLength;
        var (entries, metadata) = SafetensorsHeader.Parse(header, dataLength);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in entries) tensors[entry.Name] = ReadTensor(stream, entry);
        return new SafetensorsContent(tensors, metadata);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (float32, float64 or int32) and optional <paramref name="metadata"/> to
    /// <paramref name="path"/> atomically: a temporary file in the same folder is written, flushed and renamed over
    /// the target, so a crash leaves either the old file or the new one.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? ".";
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Save(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes the safetensors bytes to <paramref name="stream"/>.</summary>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = new List<KeyValuePair<string, Tensor>>(tensors);
        foreach (var (name, tensor) in ordered)
        {
            if (string.IsNullOrEmpty(name) || name == SafetensorsHeader.MetadataKey)
                throw new LoomException($"safetensors: '{name}' cannot be a tensor key");
            _ = DTypeName(name, tensor);
        }
        // As the reference implementation: by its dtype order descending (F64, F32, I32: largest alignment first), then by name.
        ordered.Sort((a, b) =>
        {
            var byDType = WriteRank(b.Value.DType).CompareTo(WriteRank(a.Value.DType));
            return byDType != 0 ? byDType : string.CompareOrdinal(a.Key, b.Key);
        });

        var header = BuildHeader(ordered, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (_, tensor) in ordered) WriteData(stream, tensor);
    }

    /// <summary>The safetensors bytes of <paramref name="tensors"/>.</summary>
    public static byte[] ToBytes(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        Save(stream, tensors, metadata);
        return stream.ToArray();
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                var keys = new List<string>(metadata.Keys);
                keys.Sort(string.CompareOrdinal);
                foreach (var key in keys) json.WriteString(key, metadata[key]);
                json.WriteEndObject();
            }
            var offset = 0L;
            foreach (var (name, tensor) in ordered)
            {
                var length = (long)tensor.Numel * tensor.DType.ElementSize();
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeName(name, tensor));
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape.Dims) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += length;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data section starts at a multiple of 8 (JSON allows trailing whitespace).
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static int WriteRank(DType dtype) => dtype switch
    {
        DType.Float64 => 3,
        DType.Float32 => 2,
        _ => 1,
    };

    private static string DTypeName(string name, Tensor tensor) => tensor.DType switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int32 => "I32",
        _ => throw new LoomException($"safetensors: tensor '{name}' has unsupported type {tensor.DType}"),
    };

    private static void WriteData(Stream stream, Tensor tensor)
    {
        switch (tensor.DType)
        {
            case DType.Float32: WriteLittleEndian(stream, MemoryMarshal.Cast<float, int>(tensor.Span<float>())); break;
            case DType.Float64: WriteLittleEndian(stream, MemoryMarshal.Cast<double, long>(tensor.Span<double>())); break;
            default: WriteLittleEndian(stream, tensor.Span<int>()); break;
        }
    }

    private static void WriteLittleEndian<T>(Stream stream, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        var copy = values.ToArray();
        SwapBytes<T>(copy);
        stream.Write(MemoryMarshal.AsBytes(copy.AsSpan()));
    }

    private static Tensor ReadTensor(Stream stream, SafetensorsEntry entry)
    {
        var shape = new Shape(entry.Shape);
        switch (entry.DType)
        {
            case "F32":
                {
                    var data = GC.AllocateUninitializedArray<float>(shape.Numel);
                    stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                    if (!BitConverter.IsLittleEndian) SwapBytes(MemoryMarshal.Cast<float, int>(data.AsSpan()));
                    return Tensor.Wrap(data, shape);
                }
            case "F64":
                {
                    var data = GC.AllocateUninitializedArray<double>(shape.Numel);
                    stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                    if (!BitConverter.IsLittleEndian) SwapBytes(MemoryMarshal.Cast<double, long>(data.AsSpan()));
                    return Tensor.Wrap(data, shape);
                }
            case "I32":
                {
                    var data = GC.AllocateUninitializedArray<int>(shape.Numel);
                    stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                    if (!BitConverter.IsLittleEndian) SwapBytes<int>(data);
                    return Tensor.Wrap(data, shape);
                }
            default:
                return ReadConverted(stream, entry, shape);
        }
    }

    /// <summary>I64 → int32 (each value range-checked), F16/BF16 → float32, read in chunks.</summary>
    private static Tensor ReadConverted(Stream stream, SafetensorsEntry entry, Shape shape)
    {
        var size = SafetensorsHeader.ElementSize(entry.DType);
        var chunkElements = 1 << 16;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkElements * size);
        try
        {
            var ints = entry.DType == "I64" ? GC.AllocateUninitializedArray<int>(shape.Numel) : null;
            var floats = ints is null ? GC.AllocateUninitializedArray<float>(shape.Numel) : null;
            for (var start = 0; start < shape.Numel; start += chunkElements)
            {
                var count = Math.Min(chunkElements, shape.Numel - start);
                var bytes = buffer.AsSpan(0, count * size);
                stream.ReadExactly(bytes);
                for (var i = 0; i < count; i++)
                {
                    var at = bytes.Slice(i * size, size);
                    switch (entry.DType)
                    {
                        case "I64":
                            var v = BinaryPrimitives.ReadInt64LittleEndian(at);
                            if (v is < int.MinValue or > int.MaxValue)
                                throw new LoomException($"safetensors: tensor '{entry.Name}': I64 value {v} at element {start + i} does not fit in int32");
                            ints![start + i] = (int)v;
                            break;
                        case "F16":
                            floats![start + i] = (float)BitConverter.Int16BitsToHalf(BinaryPrimitives.ReadInt16LittleEndian(at));
                            break;
                        default: // BF16: the upper 16 bits of a float32
                            floats![start + i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(at) << 16);
                            break;
                    }
                }
            }
            return ints is not null ? Tensor.Wrap(ints, shape) : Tensor.Wrap(floats!, shape);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void SwapBytes<T>(Span<T> values) where T : unmanaged
    {
        if (typeof(T) == typeof(int) || typeof(T) == typeof(float))
            BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, int>(values), MemoryMarshal.Cast<T, int>(values));
        else
            BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, long>(values), MemoryMarshal.Cast<T, long>(values));
    }
}
