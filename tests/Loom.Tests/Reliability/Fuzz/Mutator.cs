namespace Loom.Tests.Reliability.Fuzz;

/// <summary>
/// Byte-level mutations in the style of AFL/libFuzzer, driven by a seed so a failing case can be replayed: bit flips,
/// random and "interesting" bytes, 32/64-bit boundary integers written over header fields, truncation, insertion,
/// deletion and duplication of ranges. One to eight mutations are stacked per case.
/// </summary>
internal static class Mutator
{
    private static readonly long[] Interesting =
    [
        0, 1, -1, 2, 7, 8, 16, 255, 256, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, int.MaxValue, int.MinValue, uint.MaxValue,
        (long)int.MaxValue + 1, 1L << 40, long.MaxValue, long.MinValue, 100_000_000,
    ];

    public static byte[] Mutate(byte[] seed, ulong rngSeed)
    {
        var random = new Random((int)(rngSeed ^ (rngSeed >> 32)));
        var data = new List<byte>(seed);
        var count = 1 + random.Next(8);
        for (var m = 0; m < count; m++)
        {
            var pos = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(9))
            {
                case 0 when data.Count > 0:
                    data[pos] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[pos] = (byte)random.Next(256);
                    break;
                case 2 when data.Count > 0:
                    data[pos] = (byte)Interesting[random.Next(12)];
                    break;
                case 3:
                case 4:
                    {
                        // An integer over a header field: little- or big-endian, 4 or 8 bytes.
                        var value = Interesting[random.Next(Interesting.Length)];
                        var width = random.Next(2) == 0 ? 4 : 8;
                        var bigEndian = random.Next(2) == 0;
                        var at = random.Next(2) == 0 ? random.Next(Math.Min(data.Count + 1, 32)) : pos;
                        for (var i = 0; i < width && at + i < data.Count; i++)
                            data[at + i] = (byte)(value >> (8 * (bigEndian ? width - 1 - i : i)));
                        break;
                    }
                case 5:
                    if (data.Count > 0) data.RemoveRange(pos, data.Count - pos); // truncate
                    break;
                case 6:
                    {
                        var n = 1 + random.Next(16);
                        var bytes = new byte[n];
                        random.NextBytes(bytes);
                        data.InsertRange(pos, bytes);
                        break;
                    }
                case 7 when data.Count > 0:
                    data.RemoveRange(pos, Math.Min(data.Count - pos, 1 + random.Next(32)));
                    break;
                case 8 when data.Count > 0:
                    {
                        var length = Math.Min(data.Count - pos, 1 + random.Next(64));
                        var copy = data.GetRange(pos, length);
                        data.InsertRange(random.Next(data.Count + 1), copy);
                        break;
                    }
                default:
                    break;
            }
        }
        return [.. data];
    }

    /// <summary>Mutates text as bytes and reads it back as UTF-8 (invalid sequences become U+FFFD, as a file reader sees them).</summary>
    public static string MutateText(string seed, ulong rngSeed) =>
        System.Text.Encoding.UTF8.GetString(Mutate(System.Text.Encoding.UTF8.GetBytes(seed), rngSeed));
}
