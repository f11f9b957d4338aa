using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Loom.Interop;

namespace Loom.Tests.Interop;

/// <summary>safetensors: round trips, the exact layout the reference implementation writes, dtype conversions, and every malformed-file error.</summary>
public class SafetensorsTests
{
    /// <summary>Builds a file from a header text and data bytes; <paramref name="declared"/> overrides the length prefix.</summary>
    private static byte[] Raw(string header, byte[]? data = null, ulong? declared = null) => Raw(Encoding.UTF8.GetBytes(header), data, declared);

    private static byte[] Raw(byte[] header, byte[]? data = null, ulong? declared = null)
    {
        data ??= [];
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static string LoadError(byte[] bytes) => Assert.Throws<LoomException>(() => Safetensors.Load(bytes)).Message;

    private static Dictionary<string, Tensor> Sample() => new()
    {
        ["conv1.weight"] = Tensor.FromArray([1f, -2.5f, 3, 4, 5, 6], 2, 3),
        ["conv1.bias"] = Tensor.FromArray([0.25, -1e300, double.Epsilon, 7], 4),
        ["bn.num_batches_tracked"] = Tensor.FromArray([42, -7, 0, int.MaxValue], 2, 2),
        ["scalar"] = Tensor.Scalar(3.5),
        ["empty"] = Tensor.Zeros(new Shape(0, 3)),
    };

    private static void AssertSameTensors(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected)
        {
            Assert.Equal(t.Shape, actual[name].Shape);
            Assert.Equal(t.DType, actual[name].DType);
            Assert.Equal(t.ToDoubleArray(), actual[name].ToDoubleArray());
        }
    }

    [Fact]
    public void RoundTripsThroughBytesFilesAndStreams()
    {
        var tensors = Sample();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\" <tag>" };
        var bytes = Safetensors.ToBytes(tensors, metadata);
        var (loaded, meta) = Safetensors.Load(bytes);
        AssertSameTensors(tensors, loaded);
        Assert.Equal(metadata, meta);

        var dir = Directory.CreateTempSubdirectory("loom-st-");
        try
        {
            var path = Path.Combine(dir.FullName, "model.safetensors");
            Safetensors.Save(path, tensors, metadata);
            Assert.Equal(bytes, File.ReadAllBytes(path));
            AssertSameTensors(tensors, Safetensors.Load(path).Tensors);
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        // A non-seekable stream (gzip) is buffered first.
        using var zipped = new MemoryStream();
        using (var gz = new GZipStream(zipped, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
        zipped.Position = 0;
        using var unzip = new GZipStream(zipped, CompressionMode.Decompress);
        AssertSameTensors(tensors, Safetensors.Load(unzip).Tensors);
    }

    [Fact]
    public void AHeaderWithControlCharactersGivesAOneLineError()
    {
        // Fuzzing found a header whose JSON error quoted a raw newline: a two-line message. Every control character in
        // every position of a small broken header must give one line.
        const string broken = "{\"a\":{\"dtype\" \"F32\"}}";
        for (var c = (char)0; c < 32; c++)
        {
            for (var at = 0; at <= broken.Length; at++)
            {
                var message = LoadError(Raw(broken.Insert(at, c.ToString()), []));
                Assert.DoesNotContain('\n', message);
                Assert.DoesNotContain('\r', message);
            }
        }
    }

    [Fact]
    public void WritesTheReferenceLayout()
    {
        var bytes = Safetensors.ToBytes(Sample(), new Dictionary<string, string> { ["format"] = "pt" });
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);   // data starts 8-byte aligned
        var header = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"},", header, StringComparison.Ordinal);
        Assert.InRange(header.Length - header.TrimEnd(' ').Length, 0, 7);   // padded with at most 7 spaces
        // Ordered as the reference implementation: dtype F64, F32, I32, then name; contiguous from offset 0.
        var expected = "\"conv1.bias\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}," +
                       "\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[32,56]}," +
                       "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[56,56]}," +
                       "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[56,60]}," +
                       "\"bn.num_batches_tracked\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[60,76]}}";
        Assert.EndsWith(expected, header.TrimEnd(' '), StringComparison.Ordinal);
        Assert.Equal(8 + n + 76, bytes.Length);
        // Little-endian values: conv1.bias[0] = 0.25 at the start of the data section.
        Assert.Equal(0.25, BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 + n)));
    }

    [Fact]
    public void ReadsAHandWrittenFile()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        var (tensors, metadata) = Safetensors.Load(Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data));
        Assert.Equal([1.5f, -2f], tensors["a"].ToArray());
        Assert.Empty(metadata);
    }

    [Fact]
    public void ConvertsI64F16AndBF16()
    {
        var data = new byte[16 + 6 + 6];
        BinaryPrimitives.WriteInt64LittleEndian(data, -5);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), int.MaxValue);
        ushort[] half = [0x3C00, 0xC000, 0x3800];    // 1, −2, 0.5
        ushort[] brain = [0x3F80, 0xC000, 0x4049];   // 1, −2, 3.140625
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(16 + 2 * i), half[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(22 + 2 * i), brain[i]);
        }
        var header = "{\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}," +
                     "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]}," +
                     "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[22,28]}}";
        var tensors = Safetensors.Load(Raw(header, data)).Tensors;
        Assert.Equal(DType.Int32, tensors["i"].DType);
        Assert.Equal([-5, int.MaxValue], tensors["i"].ToIntArray());
        Assert.Equal([1f, -2f, 0.5f], tensors["h"].ToArray());
        Assert.Equal([1f, -2f, 3.140625f], tensors["b"].ToArray());

        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 1L << 40);
        Assert.Equal("safetensors: tensor 'i': I64 value 1099511627776 at element 1 does not fit in int32", LoadError(Raw(header, data)));
    }

    private const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    public static TheoryData<string, string, int, string> Malformed => new()
    {
        { "unknown dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': unknown dtype 'F33'" },
        { "unsupported dtype", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8, "tensor 'a': dtype U8 is not supported by Loom" },
        { "shape disagrees with bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8 bytes" },
        { "overlapping offsets", "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]" },
        { "gap between tensors", "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16,
            "tensor 'b': data_offsets [12, 16] leave a gap of 4 bytes after tensor 'a'" },
        { "offsets past the end (truncated)", "{" + A + "}", 4, "tensor 'a': data_offsets [0, 8] run past the end of the data section (4 bytes" },
        { "trailing bytes", "{" + A + "}", 12, "4 trailing bytes belong to no tensor" },
        { "end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, "tensor 'a': data_offsets [8, 4] end before they begin" },
        { "negative size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': 'shape' entry 0 (-2) is not a non-negative integer" },
        { "fractional size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "tensor 'a': 'shape' entry 0 (1.5) is not a non-negative integer" },
        { "one offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "tensor 'a': 'data_offsets' must have 2 entries, found 1" },
        { "missing dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing string field 'dtype'" },
        { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing array field 'shape'" },
        { "entry not an object", "{\"a\":5}", 0, "tensor 'a': entry must be an object" },
        { "duplicate key", "{" + A + "," + A + "}", 8, "key 'a' appears twice in the header" },
        { "metadata not strings", "{\"__metadata__\":{\"epoch\":3}," + A + "}", 8, "metadata value of 'epoch' must be a string" },
        { "not JSON", "{\"a\": {", 0, "the header is not valid JSON" },
        { "JSON but not an object", "[1, 2]", 0, "the header must be a JSON object, found a Array" },
        { "10^12 elements declared", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': shape [1000000, 1000000] of F32 needs 4000000000000 bytes but data_offsets [0, 8] hold 8 bytes" },
        { "10^12 elements, offsets to match", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000000],\"data_offsets\":[0,4000000000000]}}", 8,
            "tensor 'a': data_offsets [0, 4000000000000] run past the end of the data section (8 bytes" },
        { "product overflows 64 bits", "{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': shape [2147483647, 2147483647, 2147483647] of F64 needs" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void RejectsMalformedHeadersWithAClearError(string what, string header, int dataBytes, string expected)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var message = LoadError(Raw(header, new byte[dataBytes]));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, $"{what}: allocated too much before failing");
        Assert.StartsWith("safetensors: ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    /// <summary>The same malformed files, read from disk: the error names the file as well as the key.</summary>
    [Theory]
    [MemberData(nameof(Malformed))]
    public void ErrorsReadingAFileNameTheFileAndTheKey(string what, string header, int dataBytes, string expected)
    {
        using var dir = new global::Loom.Tests.Data.TempDirectory();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, Raw(header, new byte[dataBytes]));
        var message = Assert.Throws<LoomException>(() => Safetensors.Load(path)).Message;
        Assert.StartsWith($"safetensors: {path}: ", message, StringComparison.Ordinal);
        Assert.True(message.Contains(expected, StringComparison.Ordinal), $"{what}: {message}");
        Assert.DoesNotContain('\n', message);
    }

    /// <summary>
    /// A valid file cut short at every length (a crash mid-copy, a partial download) is a clear LoomException naming
    /// the file: never an EndOfStreamException, never a tensor of garbage.
    /// </summary>
    [Fact]
    public void EveryTruncationOfAValidFileIsAClearError()
    {
        var bytes = Safetensors.ToBytes(Sample(), new Dictionary<string, string> { ["format"] = "pt" });
        var headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var dir = new global::Loom.Tests.Data.TempDirectory();
        var path = dir.File("cut.safetensors");
        for (var length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            var message = Assert.Throws<LoomException>(() => Safetensors.Load(path)).Message;
            Assert.StartsWith($"safetensors: {path}: ", message, StringComparison.Ordinal);
            var reason = length < 8 ? "too few for the 8-byte header length"
                : length < headerEnd ? "is longer than the"
                : "run past the end of the data section";
            Assert.True(message.Contains(reason, StringComparison.Ordinal), $"cut at {length} of {bytes.Length}: {message}");
        }
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), "loom-no-such-" + Guid.NewGuid().ToString("N") + ".safetensors");
        Assert.Equal($"safetensors: {path} does not exist", Assert.Throws<LoomException>(() => Safetensors.Load(path)).Message);
    }

    [Fact]
    public void RejectsBadFramingBeforeReadingTheHeader()
    {
        Assert.Contains("5 bytes are too few for the 8-byte header length", LoadError(new byte[5]), StringComparison.Ordinal);
        Assert.Contains("header length 100 is longer than the 10 bytes that follow it", LoadError(Raw("{}", new byte[8], declared: 100)), StringComparison.Ordinal);
        Assert.Contains("header length 1099511627776 exceeds the 100000000-byte limit", LoadError(Raw("{}", declared: 1UL << 40)), StringComparison.Ordinal);
        Assert.Contains("the header is not valid UTF-8", LoadError(Raw([(byte)'{', 0xFF, 0xFE, (byte)'}'])), StringComparison.Ordinal);
    }

    [Fact]
    public void SaveIsAtomicAndLeavesNoTemporaryFiles()
    {
        var dir = Directory.CreateTempSubdirectory("loom-st-");
        try
        {
            var path = Path.Combine(dir.FullName, "weights.safetensors");
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(2) });
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Full(new Shape(3), 7) });
            Assert.Equal([7f, 7f, 7f], Safetensors.Load(path).Tensors["w"].ToArray());
            var before = File.ReadAllBytes(path);

            // A failing save (a reserved key) leaves the previous file untouched.
            var e = Assert.Throws<LoomException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
            Assert.Equal("safetensors: '__metadata__' cannot be a tensor key", e.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal([path], Directory.GetFiles(dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
