using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Loom.Data;

/// <summary>
/// Reads and writes IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or raw.
/// </summary>
/// <remarks>
/// <para>Layout (all integers big-endian): two zero bytes, a type code (<see cref="IdxType"/>), the number of
/// dimensions d; then d 4-byte sizes; then the product of the sizes elements, row-major.</para>
/// <para>The reader recognises gzip by its magic bytes <c>1F 8B</c>, not by the file name, and checks everything
/// before trusting it: the magic, the type code, the dimension count (1 to <see cref="MaxDimensions"/>), each
/// size, the declared data size against <c>maxDataBytes</c> and against what the file can hold (before
/// allocating), and that the data ends exactly where the header says. Every problem is a
/// <see cref="LoomException"/> that names the file and what is wrong.</para>
/// </remarks>
/// <example>
/// <code>
/// var labels = Idx.Read("data/digits/train-labels-idx1-ubyte.gz").ToInt32Array();
/// Idx.Write("copy.idx1-ubyte.gz", new IdxArray(new byte[] { 3, 1, 4 }, new Shape(3)));
/// </code>
/// </example>
public static class Idx
{
    /// <summary>The most dimensions the reader accepts.</summary>
    public const int MaxDimensions = 16;

    /// <summary>The default cap on the data an IDX file may declare: the largest .NET byte array.</summary>
    public static long DefaultMaxDataBytes => Array.MaxLength;

    /// <summary>Deflate cannot expand data more than 1032-fold; a gzip file's data is bounded by this.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>Reads the IDX file at <paramref name="path"/> (gzip or raw).</summary>
    public static IdxArray Read(string path, long maxDataBytes = -1)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new LoomException(e is FileNotFoundException or DirectoryNotFoundException
                ? $"{path}: file not found"
                : $"{path}: cannot open: {e.Message}", e);
        }
        using (file) return Read(file, path, maxDataBytes);
    }

    /// <summary>
    /// Reads an IDX array from a seekable <paramref name="stream"/> holding exactly one IDX file (gzip or raw)
    /// from its current position to its end; <paramref name="name"/> names it in error messages.
    /// </summary>
    public static IdxArray Read(Stream stream, string name, long maxDataBytes = -1)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable", nameof(stream));
        if (maxDataBytes < 0) maxDataBytes = DefaultMaxDataBytes;
        var start = stream.Position;
        var length = stream.Length - start;
        Span<byte> peek = stackalloc byte[2];
        var gzip = stream.ReadAtLeast(peek, 2, throwOnEndOfStream: false) == 2 && peek[0] == 0x1F && peek[1] == 0x8B;
        stream.Position = start;
        try
        {
            if (!gzip) return ReadContent(stream, name, length, knownLength: true, maxDataBytes)!;
            // A gzip file of n bytes inflates to at most n × 1032, so a header declaring more is checked (by
            // counting, through a small buffer) before anything is allocated. Only if the count agrees with the
            // header, which deflate's limit rules out, is the file read again without the bound.
            using (var inflated = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true))
            {
                var array = ReadContent(inflated, name, length * MaxDeflateRatio, knownLength: false, maxDataBytes);
                if (array is not null) return array;
            }
            stream.Position = start;
            using (var inflated = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true))
                return ReadContent(inflated, name, long.MaxValue, knownLength: false, maxDataBytes)!;
        }
        catch (InvalidDataException e)
        {
            throw new LoomException($"{name}: corrupt gzip data ({e.Message})", e);
        }
    }

    /// <summary>
    /// Reads header and data from <paramref name="content"/> (already inflated). <paramref name="bound"/> is the
    /// content's length when <paramref name="knownLength"/>, otherwise an upper bound on it. Returns null only when
    /// the header declares more than the bound and the content, counted, has exactly that much.
    /// </summary>
    private static IdxArray? ReadContent(Stream content, string name, long bound, bool knownLength, long maxDataBytes)
    {
        Span<byte> head = stackalloc byte[4];
        var got = content.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (got == 0) throw new LoomException($"{name}: the file is empty; an IDX file starts with a 4-byte header");
        if (got < 4)
            throw new LoomException($"{name}: the file holds only {got} byte{(got == 1 ? "" : "s")}, too few for an IDX header (4 bytes: 00 00 type dimensions)");
        if (head[0] != 0 || head[1] != 0)
            throw new LoomException($"{name}: not an IDX file: it starts with bytes {Hex(head)}, " +
                "but an IDX file starts with 00 00, a type code and a dimension count (gzip files start with 1F 8B)");
        if (!IdxTypeExtensions.IsDefined(head[2]))
            throw new LoomException($"{name}: unknown IDX type code 0x{head[2]:X2}; the format defines 0x08 uint8, 0x09 int8, " +
                "0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64");
        var type = (IdxType)head[2];
        int rank = head[3];
        if (rank is 0 or > MaxDimensions)
            throw new LoomException($"{name}: the header declares {rank} dimensions; Loom reads 1 to {MaxDimensions}");

        Span<byte> dimBytes = stackalloc byte[4 * MaxDimensions];
        dimBytes = dimBytes[..(4 * rank)];
        got = content.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        var headerBytes = 4 + (4 * rank);
        if (got < dimBytes.Length)
            throw new LoomException($"{name}: the header declares {rank} dimensions ({headerBytes} header bytes) but the file ends after {4 + got}");
        var dims = new int[rank];
        var declared = new BigInteger(type.ElementSize());
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (d > int.MaxValue)
                throw new LoomException($"{name}: dimension {i} of the header is {d}, more than the {int.MaxValue} Loom supports");
            dims[i] = (int)d;
            declared *= d;
        }
        var what = $"header declares {string.Join("×", dims)}{(type == IdxType.UInt8 ? "" : " " + type.Name() + " values")} = {declared} bytes of data";
        if (declared > maxDataBytes)
            throw new LoomException($"{name}: {what}, more than the {maxDataBytes} bytes Loom reads from one IDX file");
        var dataBytes = (long)declared;
        var available = bound == long.MaxValue ? bound : bound - headerBytes;
        if (knownLength && available != dataBytes)
            throw new LoomException(Mismatch(name, what, dataBytes, available));
        if (!knownLength && dataBytes > available)
        {
            var actual = CountToEnd(content);
            return actual == dataBytes ? null : throw new LoomException(Mismatch(name, what, dataBytes, actual));
        }

        var array = IdxArray.Allocate(type, new Shape(dims));
        var raw = array.RawBytes();
        got = content.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        if (got < raw.Length) throw new LoomException(Mismatch(name, what, dataBytes, got));
        var trailing = CountToEnd(content);
        if (trailing > 0) throw new LoomException(Mismatch(name, what, dataBytes, dataBytes + trailing));
        if (BitConverter.IsLittleEndian) SwapToMachineOrder(raw, type);
        return array;
    }

    private static string Hex(ReadOnlySpan<byte> bytes)
    {
        var parts = new string[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) parts[i] = bytes[i].ToString("X2");
        return string.Join(' ', parts);
    }

    private static string Mismatch(string name, string what, long declared, long actual) =>
        actual < declared
            ? $"{name}: {what} but the file holds {actual}: it is truncated"
            : $"{name}: {what} but the file holds {actual}: {actual - declared} trailing bytes";

    /// <summary>Reads <paramref name="stream"/> to its end through a small pooled buffer; returns the byte count.</summary>
    private static long CountToEnd(Stream stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long total = 0;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) total += n;
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Big-endian ↔ machine order, in place (its own inverse).</summary>
    private static void SwapToMachineOrder(Span<byte> raw, IdxType type)
    {
        switch (type.ElementSize())
        {
            case 2:
                var s = MemoryMarshal.Cast<byte, short>(raw);
                BinaryPrimitives.ReverseEndianness(s, s);
                break;
            case 4:
                var i = MemoryMarshal.Cast<byte, int>(raw);
                BinaryPrimitives.ReverseEndianness(i, i);
                break;
            case 8:
                var l = MemoryMarshal.Cast<byte, long>(raw);
                BinaryPrimitives.ReverseEndianness(l, l);
                break;
        }
    }

    /// <summary>
    /// Writes <paramref name="array"/> to <paramref name="path"/>, gzip-compressed when the name ends in
    /// <c>.gz</c>. The file is written to a temporary name first and then renamed, so a crash leaves no half file.
    /// </summary>
    public static void Write(string path, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(path);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                using var gz = new GZipStream(file, CompressionLevel.SmallestSize, leaveOpen: true);
                Write(gz, array);
            }
            else
            {
                Write(file, array);
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Writes <paramref name="array"/> to <paramref name="stream"/> as a raw (uncompressed) IDX file.</summary>
    public static void Write(Stream stream, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        var rank = array.Shape.Rank;
        if (rank > MaxDimensions) throw new LoomException($"idx: {rank} dimensions; the format allows at most {MaxDimensions} here");
        Span<byte> header = stackalloc byte[4 + (4 * MaxDimensions)];
        header = header[..(4 + (4 * rank))];
        header[0] = 0;
        header[1] = 0;
        header[2] = (byte)array.Type;
        header[3] = (byte)rank;
        for (var i = 0; i < rank; i++) BinaryPrimitives.WriteInt32BigEndian(header[(4 + (4 * i))..], array.Shape[i]);
        stream.Write(header);

        var raw = array.RawBytes();
        var size = array.Type.ElementSize();
        if (size == 1 || !BitConverter.IsLittleEndian)
        {
            stream.Write(raw);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var chunk = buffer.Length / 8 * 8;
            for (var offset = 0; offset < raw.Length; offset += chunk)
            {
                var piece = buffer.AsSpan(0, Math.Min(chunk, raw.Length - offset));
                raw.Slice(offset, piece.Length).CopyTo(piece);
                SwapToMachineOrder(piece, array.Type);
                stream.Write(piece);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
