using System.Globalization;
using Google.Protobuf;
using Loom.Diagnostics.TensorBoard.Proto;

namespace Loom.Diagnostics.TensorBoard;

/// <summary>
/// Writes a TensorBoard event file, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;</c>: TFRecord-framed
/// <see cref="Event"/> messages, the first holding <c>file_version = "brain.Event:2"</c>, the rest scalars and images.
/// </summary>
/// <remarks>
/// Append-only. Records are framed in memory and go to the file in one write per <see cref="Flush"/> (called by
/// the trainer at the end of every epoch, and when 64 KiB are waiting), so a crash loses at most the unflushed
/// records and leaves at worst a torn last record, which readers stop before (<see cref="TfRecord.Read"/>).
/// </remarks>
/// <example>
/// <code>
/// using var events = EventFileWriter.Create("runs/demo");
/// events.WriteScalars(1, [("train/loss", 2.3), ("train/lr", 1e-3)]);
/// events.Flush();
/// </code>
/// </example>
public sealed class EventFileWriter : IDisposable
{
    /// <summary>The version string TensorBoard expects in the first event of a file.</summary>
    public const string FileVersion = "brain.Event:2";

    /// <summary>The file name prefix TensorBoard looks for (it reads any file whose name contains <c>tfevents</c>).</summary>
    public const string FilePrefix = "events.out.tfevents.";

    private const int FlushBytes = 1 << 16;
    private readonly MemoryStream _pending = new();
    private FileStream? _file;

    private EventFileWriter(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>
    /// A new event file in <paramref name="directory"/> (created if needed), named after the time and the host,
    /// with <c>.2</c>, <c>.3</c>… appended when that name is taken (a resumed run within the same second); its
    /// first record, the file version, is written at once.
    /// </summary>
    public static EventFileWriter Create(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow;
        var host = string.Concat(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        var stem = System.IO.Path.Combine(directory, FilePrefix + now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "." + host);
        for (var i = 1; ; i++)
        {
            var path = i == 1 ? stem : stem + "." + i.ToString(CultureInfo.InvariantCulture);
            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            }
            catch (IOException) when (File.Exists(path))
            {
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new LoomException($"tensorboard: could not create {path}: {e.Message}", e);
            }
            var writer = new EventFileWriter(path, file);
            writer.Write(new Event { WallTime = WallTime(now), FileVersion = FileVersion });
            writer.Flush();
            return writer;
        }
    }

    /// <summary>Opens an existing event file to append records to it (the file version is already in it).</summary>
    public static EventFileWriter Append(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new LoomException($"tensorboard: {path} does not exist");
        try
        {
            return new EventFileWriter(path, new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"tensorboard: could not open {path}: {e.Message}", e);
        }
    }

    /// <summary>Frames <paramref name="e"/> and queues it (written at the next <see cref="Flush"/>).</summary>
    public void Write(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        ObjectDisposedException.ThrowIf(_file is null, this);
        _pending.Write(TfRecord.Frame(e.ToByteArray()));
        if (_pending.Length >= FlushBytes) Flush();
    }

    /// <summary>
    /// One event at <paramref name="step"/> with a scalar (<c>simple_value</c>, a float) per tag; non-finite values are
    /// left out (TensorBoard would draw them as gaps or break its axes), and nothing is written when none is left.
    /// </summary>
    public void WriteScalars(long step, IEnumerable<(string Tag, double Value)> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var summary = new Summary();
        foreach (var (tag, value) in values)
            if (double.IsFinite(value)) summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        if (summary.Value.Count == 0) return;
        Write(new Event { WallTime = WallTime(DateTimeOffset.UtcNow), Step = step, Summary = summary });
    }

    /// <summary>One event at <paramref name="step"/> holding a PNG image under <paramref name="tag"/>; its size and colour type come from its header.</summary>
    public void WriteImage(long step, string tag, byte[] png)
    {
        ArgumentNullException.ThrowIfNull(png);
        var (width, height, colorspace) = PngHeader(png, tag);
        var image = new Summary.Types.Image { Width = width, Height = height, Colorspace = colorspace, EncodedImageString = ByteString.CopyFrom(png) };
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, Image = image });
        Write(new Event { WallTime = WallTime(DateTimeOffset.UtcNow), Step = step, Summary = summary });
    }

    /// <summary>Writes the queued records to the file in one piece and flushes it to disk.</summary>
    public void Flush()
    {
        if (_file is null || _pending.Length == 0) return;
        try
        {
            _file.Write(_pending.GetBuffer(), 0, (int)_pending.Length);
            _file.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            throw new LoomException($"tensorboard: could not write {Path}: {e.Message}", e);
        }
        _pending.SetLength(0);
    }

    public void Dispose()
    {
        if (_file is null) return;
        try
        {
            Flush();
        }
        finally
        {
            _file.Dispose();
            _file = null;
            _pending.Dispose();
        }
    }

    private static double WallTime(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Width, height and TensorBoard colorspace (1 L, 2 LA, 3 RGB, 4 RGBA) from a PNG's IHDR chunk.</summary>
    internal static (int Width, int Height, int Colorspace) PngHeader(ReadOnlySpan<byte> png, string tag)
    {
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 26 || !png[..8].SequenceEqual(signature) || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new LoomException($"tensorboard: image '{tag}' is not a PNG ({png.Length} bytes without a PNG signature and IHDR chunk)");
        var width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png[16..]);
        var height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png[20..]);
        var colorspace = png[25] switch
        {
            0 => 1,
            4 => 2,
            6 => 4,
            _ => 3, // 2 = RGB, 3 = palette (decoded to RGB)
        };
        return (width, height, colorspace);
    }
}
