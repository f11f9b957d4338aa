using System.Buffers.Binary;
using System.IO.Compression;
using Loom.Data;

namespace Loom.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Extensions => new() { "", ".gz" };

    [Theory]
    [MemberData(nameof(Extensions))]
    public void RoundTripsEveryElementType(string ext)
    {
        var shape = new Shape(2, 3, 5);
        var n = shape.Numel;
        var arrays = new[]
        {
            new IdxArray(Enumerable.Range(0, n).Select(i => (byte)(i * 9)).ToArray(), shape),
            new IdxArray(Enumerable.Range(0, n).Select(i => (sbyte)(i - 15)).ToArray(), shape),
            new IdxArray(Enumerable.Range(0, n).Select(i => (short)((i * 1000) - 15000)).ToArray(), shape),
            new IdxArray(Enumerable.Range(0, n).Select(i => (i * 123456789) - 7).ToArray(), shape),
            new IdxArray(Enumerable.Range(0, n).Select(i => (i * 0.37f) - 3e-5f).ToArray(), shape),
            new IdxArray(Enumerable.Range(0, n).Select(i => (i * Math.PI) - 1e300).ToArray(), shape),
        };
        foreach (var array in arrays)
        {
            var path = _dir.File($"a-{array.Type}{ext}");
            Idx.Write(path, array);
            var back = Idx.Read(path);
            Assert.Equal(array.Type, back.Type);
            Assert.Equal(shape, back.Shape);
            Assert.Equal(array.ToSingleArray(), back.ToSingleArray());
            switch (array.Type)
            {
                case IdxType.Int32: Assert.Equal(array.AsSpan<int>().ToArray(), back.AsSpan<int>().ToArray()); break;
                case IdxType.Float64: Assert.Equal(array.AsSpan<double>().ToArray(), back.AsSpan<double>().ToArray()); break;
            }
        }
    }

    [Fact]
    public void WritesBigEndianPerTheSpec()
    {
        var path = _dir.File("be.idx");
        Idx.Write(path, new IdxArray(new[] { 0x01020304, -2 }, new Shape(2)));
        Assert.Equal(
            new byte[] { 0, 0, 0x0C, 1, 0, 0, 0, 2, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE },
            File.ReadAllBytes(path));
    }

    [Fact]
    public void DetectsGzipByMagicNotByName()
    {
        var array = new IdxArray(new byte[] { 1, 2, 3, 4, 5, 6 }, new Shape(2, 3));
        var gz = _dir.File("x.gz");
        Idx.Write(gz, array);
        var disguised = _dir.File("x.idx");
        File.Copy(gz, disguised);
        Assert.Equal(array.AsSpan<byte>().ToArray(), Idx.Read(disguised).AsSpan<byte>().ToArray());
    }

    [Fact]
    public void ConvertsBytesToUnitRange()
    {
        var a = new IdxArray(new byte[] { 0, 51, 255 }, new Shape(3));
        Assert.Equal(new[] { 0f, 51f / 255f, 1f }, a.ToSingleArray(255));
        Assert.Equal(new[] { 0, 51, 255 }, a.ToInt32Array());
        Assert.Throws<LoomException>(() => a.AsSpan<float>().Length);
        Assert.Throws<LoomException>(() => new IdxArray(new[] { 1f }, new Shape(1)).ToInt32Array());
    }

    // ---- malformed files: each names the file and what is wrong ----

    private string WriteBytes(string name, byte[] bytes, bool gzip)
    {
        var path = _dir.File(name + (gzip ? ".gz" : ""));
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return path;
        }
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Optimal);
        gz.Write(bytes);
        return path;
    }

    private static byte[] Header(byte type, params uint[] dims)
    {
        var h = new byte[4 + (4 * dims.Length)];
        h[2] = type;
        h[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4 + (4 * i)), dims[i]);
        return h;
    }

    private string ExpectError(string path, params string[] fragments)
    {
        var e = Assert.Throws<LoomException>(() => Idx.Read(path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.Ordinal);
        return e.Message;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedData(bool gzip)
    {
        var path = WriteBytes("trunc", [.. Header(0x08, 60000, 28, 28), .. new byte[1000]], gzip);
        ExpectError(path, "header declares 60000×28×28 = 47040000 bytes of data but the file holds 1000", "truncated");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrailingBytes(bool gzip)
    {
        var path = WriteBytes("trail", [.. Header(0x08, 2, 3), .. new byte[10]], gzip);
        ExpectError(path, "header declares 2×3 = 6 bytes of data but the file holds 10", "4 trailing bytes");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiByteTypesCountBytes(bool gzip)
    {
        var path = WriteBytes("f32", [.. Header(0x0D, 10, 3), .. new byte[100]], gzip);
        ExpectError(path, "header declares 10×3 float32 values = 120 bytes of data but the file holds 100");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagic(bool gzip)
    {
        var path = WriteBytes("magic", [0x01, 0x00, 0x08, 0x01, 0, 0, 0, 1, 7], gzip);
        ExpectError(path, "not an IDX file", "01 00 08 01");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnknownType(bool gzip)
    {
        var path = WriteBytes("dtype", [.. Header(0x0A, 1), 7], gzip);
        ExpectError(path, "unknown IDX type code 0x0A");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void BadDimensionCount(int rank)
    {
        var path = WriteBytes("rank", [0, 0, 0x08, (byte)rank, .. new byte[200]], gzip: false);
        ExpectError(path, $"declares {rank} dimensions", "1 to 16");
    }

    [Fact]
    public void HeaderCutInsideTheDimensions()
    {
        var path = WriteBytes("dims", [0, 0, 0x08, 3, 0, 0, 0, 5, 0, 0], gzip: false);
        ExpectError(path, "declares 3 dimensions (16 header bytes) but the file ends after 10");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HugeDeclaredSizeFailsBeforeAllocating(bool gzip)
    {
        // 2^31-1 cubed: no array could hold it; the cap is checked before any allocation.
        var path = WriteBytes("huge", [.. Header(0x08, int.MaxValue, int.MaxValue, int.MaxValue), 1, 2, 3], gzip);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ExpectError(path, "2147483647×2147483647×2147483647", "more than the");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the reader allocated for the declared size");
    }

    [Fact]
    public void GzipDeclaringMoreThanItCanInflateToFailsWithoutAllocating()
    {
        // 1.5 GB declared, under the cap, in a gzip file of a few dozen bytes.
        var path = WriteBytes("bomb", [.. Header(0x08, 1500, 1000, 1000), .. new byte[50]], gzip: true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ExpectError(path, "= 1500000000 bytes of data but the file holds 50", "truncated");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the reader allocated for the declared size");
    }

    [Fact]
    public void DimensionAboveInt32()
    {
        var path = WriteBytes("bigdim", [.. Header(0x08, 0x80000000u), 1], gzip: false);
        ExpectError(path, "dimension 0 of the header is 2147483648");
    }

    [Fact]
    public void CapIsConfigurable()
    {
        var path = WriteBytes("cap", [.. Header(0x08, 100), .. new byte[100]], gzip: false);
        var e = Assert.Throws<LoomException>(() => Idx.Read(path, maxDataBytes: 99));
        Assert.Contains("more than the 99 bytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(100, Idx.Read(path, maxDataBytes: 100).Count);
    }

    [Fact]
    public void NonGzipGarbage()
    {
        var path = WriteBytes("garbage.gz", "PK\u0003\u0004 this is a zip, not IDX"u8.ToArray(), gzip: false);
        ExpectError(path, "not an IDX file", "50 4B 03 04");
    }

    [Fact]
    public void CorruptGzip()
    {
        var path = WriteBytes("corrupt", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0x56], gzip: false);
        ExpectError(path, "gzip");
    }

    [Fact]
    public void GzipCutShort()
    {
        var full = WriteBytes("cut", [.. Header(0x08, 100, 100), .. Enumerable.Range(0, 10000).Select(i => (byte)(i * 7919 % 251))], gzip: true);
        var bytes = File.ReadAllBytes(full);
        var path = WriteBytes("cut2", bytes[..(bytes.Length / 2)], gzip: false);
        var message = ExpectError(path);
        Assert.True(message.Contains("truncated", StringComparison.Ordinal) || message.Contains("gzip", StringComparison.Ordinal), message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void TooShortForAHeader(int length)
    {
        var path = WriteBytes($"short{length}", new byte[length], gzip: false);
        ExpectError(path, length == 0 ? "empty" : "only 3 bytes");
    }

    [Fact]
    public void MissingFile()
    {
        var path = _dir.File("nope-idx1-ubyte.gz");
        ExpectError(path, "file not found");
    }
}
