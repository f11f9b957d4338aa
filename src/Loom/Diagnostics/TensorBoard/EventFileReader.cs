using Google.Protobuf;
using Loom.Diagnostics.TensorBoard.Proto;

namespace Loom.Diagnostics.TensorBoard;

/// <summary>The events of one file, and the bytes of a torn last record (0 when the file ends cleanly).</summary>
/// <param name="Path">The file read.</param>
/// <param name="Events">Its events in order; the first is the file version.</param>
/// <param name="TornTailBytes">Bytes after the last complete record.</param>
public sealed record EventFileContent(string Path, IReadOnlyList<Event> Events, int TornTailBytes)
{
    /// <summary>Every scalar of the file as (step, tag, value), in order.</summary>
    public IEnumerable<(long Step, string Tag, float Value)> Scalars() =>
        Events.Where(e => e.WhatCase == Event.WhatOneofCase.Summary)
            .SelectMany(e => e.Summary.Value.Where(v => v.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
                .Select(v => (e.Step, v.Tag, v.SimpleValue)));
}

/// <summary>
/// A strict reader of TensorBoard event files: the TFRecord framing with both CRCs checked (<see cref="TfRecord.Read"/>),
/// every record parsed as an <see cref="Event"/>, and the first one the file version (<c>brain.Event:…</c>). What
/// TensorBoard would reject is an error naming the file and the record; a torn last record is tolerated.
/// </summary>
public static class EventFileReader
{
    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    public static EventFileContent Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new LoomException($"tensorboard: {path} does not exist");
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        var file = TfRecord.Read(bytes, path);
        var events = new List<Event>(file.Records.Count);
        for (var i = 0; i < file.Records.Count; i++)
        {
            try
            {
                events.Add(Event.Parser.ParseFrom(file.Records[i]));
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new LoomException($"{path}: record {i} is not an Event message: {e.Message}", e);
            }
        }
        if (events.Count == 0) throw new LoomException($"{path}: no complete record (expected the file version first)");
        if (events[0].WhatCase != Event.WhatOneofCase.FileVersion || !events[0].FileVersion.StartsWith("brain.Event:", StringComparison.Ordinal))
            throw new LoomException($"{path}: the first record is not the file version (brain.Event:N), found {events[0].WhatCase}");
        return new EventFileContent(path, events, file.TornTailBytes);
    }

    /// <summary>The event files of a run directory, in the order TensorBoard reads them (by name).</summary>
    public static IReadOnlyList<string> Find(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) return [];
        var files = Directory.GetFiles(directory, EventFileWriter.FilePrefix + "*");
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
