using System.Buffers.Binary;
using System.Text;
using Loom.Data;
using Loom.Diagnostics.TensorBoard;
using Loom.Diagnostics.TensorBoard.Proto;
using Loom.Nn.Spec;
using Loom.Tests.Data;
using Loom.Tests.Training;
using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// TensorBoard event files: the TFRecord framing checked against an independent bitwise CRC-32C, and a tiny run's
/// history read back through the strict reader (both CRCs of every record, every record an Event).
/// </summary>
[Collection(ProcessWideRngCollection.Name)] // its tiny runs seed the process-wide RNG and set the thread count
public sealed class TensorBoardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>CRC-32C bit by bit (reflected polynomial 0x82F63B78): independent of System.IO.Hashing.</summary>
    private static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    private static uint Masked(ReadOnlySpan<byte> data)
    {
        var crc = BitwiseCrc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }

    [Fact]
    public void Crc32C_has_the_standard_check_value_and_the_tfrecord_mask()
    {
        Assert.Equal(0xE3069283u, TfRecord.Crc32C("123456789"u8));
        Assert.Equal(0xE3069283u, BitwiseCrc32C("123456789"u8));
        Assert.Equal(0xa282ead8u, TfRecord.Mask(0));
        // rotate right by 15, then add the delta (mod 2^32)
        Assert.Equal(unchecked(0x00020000u + 0xa282ead8u), TfRecord.Mask(1));
        var frame = TfRecord.Frame("hello"u8);
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(frame));
        Assert.Equal(Masked(frame.AsSpan(0, 8)), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(8)));
        Assert.Equal("hello"u8.ToArray(), frame.AsSpan(12, 5).ToArray());
        Assert.Equal(Masked("hello"u8), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(17)));
    }

    [Fact]
    public void The_first_record_is_the_file_version_in_protobuf_wire_format()
    {
        string path;
        using (var writer = EventFileWriter.Create(_dir.Path)) path = writer.Path;
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path), StringComparison.Ordinal);
        var bytes = File.ReadAllBytes(path);
        // Decoded by hand: Event { wall_time (field 1, fixed64: tag 0x09), file_version (field 3, bytes: tag 0x1A) }.
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(bytes.Length, length + 16);
        var data = bytes.AsSpan(12, length);
        Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12 + length)));
        Assert.Equal(0x09, data[0]);
        var wallTime = BinaryPrimitives.ReadDoubleLittleEndian(data[1..]);
        Assert.InRange(wallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Equal(0x1A, data[9]);
        Assert.Equal(13, data[10]);
        Assert.Equal("brain.Event:2", Encoding.ASCII.GetString(data[11..]));
    }

    private static ImageSplits Blobs() => BlobImages.Splits(128, 32);

    private RunDirectory TinyRun()
    {
        var config = new TrainConfig { Epochs = 2, BatchSize = 32, Lr = 0.05, Optimizer = "sgd", Schedule = "cosine", Seed = 3, Threads = 1, Clip = 5 };
        Rng.ManualSeed(config.Seed);
        Threads.Count = config.Threads;
        var data = new ImageClassificationData(Blobs(), new DataLoaderOptions { BatchSize = config.BatchSize, Seed = config.Seed });
        var model = ModelBuilder.Build("flatten linear(4) relu linear(2)", new Shape(1, 4, 4)).Model;
        var run = new RunDirectory(Path.Combine(_dir.Path, "run"));
        new Trainer(model, data, config, run).Run(TestContext.Current.CancellationToken);
        return run;
    }

    [Fact]
    public void A_tiny_run_logs_every_history_value_as_a_scalar()
    {
        var run = TinyRun();
        var files = EventFileReader.Find(run.Path);
        Assert.Single(files);
        var content = EventFileReader.Read(files[0]);
        Assert.Equal(0, content.TornTailBytes);
        Assert.Equal(EventFileWriter.FileVersion, content.Events[0].FileVersion);
        var rows = History.Read(run.History);
        Assert.Equal(8 + 2, rows.Count);
        // One summary event per history row, at the row's step, after the file version.
        Assert.Equal(rows.Count + 1, content.Events.Count);
        var scalars = content.Scalars().ToList();
        var expected = new List<(long, string, float)>();
        foreach (var r in rows)
        {
            foreach (var (name, value) in new[] { ("loss", r.Loss), ("accuracy", r.Accuracy), ("lr", r.Lr), ("grad_norm", r.GradNorm) })
                if (!double.IsNaN(value)) expected.Add((r.Step, $"{r.Split}/{name}", (float)value));
        }
        Assert.Equal(expected, scalars);
        Assert.Equal(8 * 4 + 2 * 3, scalars.Count);
        Assert.Equal([4L, 8L], scalars.Where(s => s.Tag == "val/loss").Select(s => s.Step));
        var wall = content.Events.Select(e => e.WallTime).ToList();
        Assert.True(wall.Zip(wall.Skip(1)).All(p => p.First <= p.Second), "wall times never go backwards");
    }

    [Fact]
    public void A_torn_tail_leaves_the_complete_records_readable_and_a_bad_crc_is_named()
    {
        var run = TinyRun();
        var path = EventFileReader.Find(run.Path)[0];
        var whole = File.ReadAllBytes(path);
        var complete = EventFileReader.Read(path).Events;
        var lastStart = whole.Length - (complete[^1].CalculateSize() + TfRecord.Overhead);
        var torn = Path.Combine(_dir.Path, "events.out.tfevents.torn");
        foreach (var cut in new[] { 1, 5, 12, 13, whole.Length - lastStart - 1 })
        {
            File.WriteAllBytes(torn, whole.AsSpan(0, whole.Length - cut).ToArray());
            var read = EventFileReader.Read(torn);
            Assert.Equal(complete.Count - 1, read.Events.Count);
            Assert.Equal(complete.Take(complete.Count - 1), read.Events);
            Assert.Equal(whole.Length - cut - lastStart, read.TornTailBytes);
        }

        // A flipped bit inside the second record's data: its data CRC no longer matches.
        var firstLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(whole);
        var second = firstLength + TfRecord.Overhead;
        var corrupt = whole.ToArray();
        corrupt[second + 12 + 3] ^= 0x10;
        File.WriteAllBytes(torn, corrupt);
        var e = Assert.Throws<LoomException>(() => EventFileReader.Read(torn));
        Assert.StartsWith($"{torn}: record 1 at byte {second}: the data's CRC is ", e.Message, StringComparison.Ordinal);

        // A flipped bit in a length: caught by the length CRC before the length is trusted.
        corrupt = whole.ToArray();
        corrupt[second + 1] ^= 0x01;
        File.WriteAllBytes(torn, corrupt);
        e = Assert.Throws<LoomException>(() => EventFileReader.Read(torn));
        Assert.StartsWith($"{torn}: record 1 at byte {second}: the length's CRC is ", e.Message, StringComparison.Ordinal);

        File.WriteAllText(torn, "step,epoch,split,loss\n1,1,train,0.5\n");
        e = Assert.Throws<LoomException>(() => EventFileReader.Read(torn));
        Assert.Contains("not a TFRecord file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_is_appended_to_the_newest_file_with_its_png_size()
    {
        var run = TinyRun();
        // A 2×3 RGBA PNG (colour type 6).
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEUlEQVR4nGP4z8DwH4QZMBgAoXkL9U3EmgcAAAAASUVORK5CYII=");
        var path = TensorBoardLog.AppendImage(run.Path, "curves", png, 8);
        Assert.Equal(EventFileReader.Find(run.Path)[0], path);
        var content = EventFileReader.Read(path);
        var last = content.Events[^1];
        Assert.Equal(8, last.Step);
        var value = Assert.Single(last.Summary.Value);
        Assert.Equal("curves", value.Tag);
        Assert.Equal((2, 3, 4), (value.Image.Width, value.Image.Height, value.Image.Colorspace));
        Assert.Equal(png, value.Image.EncodedImageString.ToByteArray());
        // The scalars before it are untouched.
        Assert.Equal(8 * 4 + 2 * 3, content.Scalars().Count());

        var e = Assert.Throws<LoomException>(() => TensorBoardLog.AppendImage(run.Path, "curves", "GIF89a..."u8.ToArray(), 8));
        Assert.StartsWith("tensorboard: image 'curves' is not a PNG", e.Message, StringComparison.Ordinal);
    }
}
