using System.Buffers.Binary;
using System.IO.Hashing;

namespace Loom.Diagnostics.TensorBoard;

/// <summary>
/// TFRecord framing, the container of TensorBoard's event files: each record is
/// <c>uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)</c>, little-endian, where
/// the CRC is CRC-32C (Castagnoli) and the mask is <c>((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xa282ead8</c>.
/// </summary>
/// <remarks>
/// The mask exists because computing the CRC of a string that itself contains embedded CRCs is weak; TensorFlow
/// masks every stored CRC (tensorflow/core/lib/hash/crc32c.h). A record is framed in memory and written with one
/// call, so a file that was cut off (a crash, a copy in progress) only ever loses its last record.
/// </remarks>
public static class TfRecord
{
    /// <summary>Bytes of framing around each record's data: 8 length + 4 length CRC + 4 data CRC.</summary>
    public const int Overhead = 16;

    private const uint MaskDelta = 0xa282ead8u;

    /// <summary>CRC-32C of <paramref name="data"/> (System.IO.Hashing's Castagnoli parameter set).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    /// <summary>The masked CRC that TFRecord stores.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    /// <summary>The masked CRC-32C of <paramref name="data"/>.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data) => Mask(Crc32C(data));

    /// <summary>One framed record holding <paramref name="data"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var frame = new byte[data.Length + Overhead];
        BinaryPrimitives.WriteUInt64LittleEndian(frame, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), MaskedCrc(frame.AsSpan(0, 8)));
        data.CopyTo(frame.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(12 + data.Length), MaskedCrc(data));
        return frame;
    }

    /// <summary>
    /// Reads every record of <paramref name="bytes"/> strictly: both CRCs of every record are checked, and a bad CRC
    /// or an impossible length is an error naming <paramref name="name"/> and the offset. An incomplete last record
    /// (fewer bytes left than its frame needs) is not an error: it is what a writer still writing, or a crash, leaves
    /// behind; the complete records before it are returned and <see cref="TfRecordFile.TornTailBytes"/> counts the rest.
    /// </summary>
    public static TfRecordFile Read(ReadOnlySpan<byte> bytes, string name)
    {
        var records = new List<byte[]>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var left = bytes.Length - offset;
            if (left < 12) return new TfRecordFile(records, left);
            var header = bytes.Slice(offset, 8);
            var lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(offset + 8)..]);
            if (MaskedCrc(header) != lengthCrc)
                throw new LoomException($"{name}: record {records.Count} at byte {offset}: the length's CRC is 0x{lengthCrc:x8}, expected 0x{MaskedCrc(header):x8} (not a TFRecord file, or corrupt)");
            var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (length > int.MaxValue - Overhead)
                throw new LoomException($"{name}: record {records.Count} at byte {offset}: length {length} is more than a record can hold");
            if ((ulong)left < length + Overhead) return new TfRecordFile(records, left);
            var data = bytes.Slice(offset + 12, (int)length);
            var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(offset + 12 + (int)length)..]);
            if (MaskedCrc(data) != dataCrc)
                throw new LoomException($"{name}: record {records.Count} at byte {offset}: the data's CRC is 0x{dataCrc:x8}, expected 0x{MaskedCrc(data):x8} (corrupt)");
            records.Add(data.ToArray());
            offset += (int)length + Overhead;
        }
        return new TfRecordFile(records, 0);
    }
}

/// <summary>The records of a TFRecord file, and how many bytes at its end did not make a complete record.</summary>
/// <param name="Records">The data of each complete record, in order.</param>
/// <param name="TornTailBytes">Bytes after the last complete record (0 for a file that ends cleanly).</param>
public sealed record TfRecordFile(IReadOnlyList<byte[]> Records, int TornTailBytes);
