using System.Globalization;
using System.Text;

namespace Loom.Training;

/// <summary>One row of <c>history.csv</c>: train rows per step, <c>val</c> rows per epoch. Missing values are NaN.</summary>
public sealed record HistoryRow(long Step, int Epoch, string Split, double Loss, double Accuracy, double Lr, double GradNorm);

/// <summary>Receives every row added to a <see cref="History"/>, and its flushes (the run's TensorBoard log is one).</summary>
public interface IHistorySink : IDisposable
{
    void Add(HistoryRow row);

    void Flush();
}

/// <summary>
/// The metrics history of a run, <c>history.csv</c> with columns <c>step,epoch,split,loss,accuracy,lr,grad_norm</c>.
/// Rows are appended as training goes and flushed at every checkpoint; a resumed run first cuts rows past the
/// checkpoint's step, so the file always matches the model.
/// </summary>
public sealed class History : IDisposable
{
    public const string Header = "step,epoch,split,loss,accuracy,lr,grad_norm";

    // Columnar and chunked: a row per step for hours must not grow the heap by an object per row (HistoryRowStore).
    private readonly HistoryRowStore _rows = new();
    private StreamWriter? _writer;
    private IHistorySink? _sink;

    /// <summary>All rows so far.</summary>
    public IReadOnlyList<HistoryRow> Rows => _rows;

    /// <summary>Opens (or creates) the file for appending; existing rows with step &gt; <paramref name="keepUpToStep"/> are dropped.</summary>
    public static History Open(string path, long keepUpToStep = long.MaxValue)
    {
        var history = new History();
        if (File.Exists(path))
        {
            foreach (var row in ReadRecoverable(path))
                if (row.Step <= keepUpToStep) history._rows.Add(row);
        }
        // Rewrite atomically with the kept rows, then append from there.
        AtomicFile.WriteAllText(path, Format(history._rows));
        history._writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        return history;
    }

    /// <summary>
    /// Reads a history that a killed run may have left: rows are appended one line at a time, so only the last line
    /// can be torn, and a complete row always ends with a newline. The unterminated tail is dropped (its step is past
    /// the checkpoint, which is written only after the rows before it are flushed); a header without rows is empty.
    /// </summary>
    internal static List<HistoryRow> ReadRecoverable(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoomException($"history: {path} cannot be read: {e.Message}", e);
        }
        var end = text.LastIndexOf('\n');
        var lines = end < 0 ? [] : text[..end].Split('\n');
        if (lines.Length <= 1 || lines.Skip(1).All(string.IsNullOrWhiteSpace)) return [];
        return Parse(lines, path);
    }

    /// <summary>Adds a row (and writes it to the file when open).</summary>
    public void Add(HistoryRow row)
    {
        _rows.Add(row);
        _writer?.WriteLine(FormatRow(row));
        _sink?.Add(row);
    }

    /// <summary>
    /// Sends every row added from now on, and every flush, to <paramref name="sink"/> as well; the history owns it
    /// from then on and disposes it with itself.
    /// </summary>
    public void AddSink(IHistorySink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (_sink is not null) throw new InvalidOperationException("history: a sink is already attached");
        _sink = sink;
    }

    /// <summary>Pushes buffered rows to disk.</summary>
    public void Flush()
    {
        _sink?.Flush();
        if (_writer is null) return;
        _writer.Flush();
        _writer.BaseStream.Flush();
    }

    public void Dispose()
    {
        try
        {
            _sink?.Dispose();
        }
        finally
        {
            _sink = null;
            _writer?.Dispose();
            _writer = null;
        }
    }

    /// <summary>The whole history as CSV text.</summary>
    public static string Format(IEnumerable<HistoryRow> rows)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows) sb.Append(FormatRow(r)).Append('\n');
        return sb.ToString();
    }

    private static string FormatRow(HistoryRow r) => string.Join(",",
        r.Step.ToString(CultureInfo.InvariantCulture), r.Epoch.ToString(CultureInfo.InvariantCulture), r.Split,
        Num(r.Loss), Num(r.Accuracy), Num(r.Lr), Num(r.GradNorm));

    private static string Num(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a history file. Accuracy, lr and grad_norm may be empty; errors name the file and line:
    /// missing columns, non-numeric values, no rows, or steps that go backwards within a split.
    /// </summary>
    public static List<HistoryRow> Read(string path)
    {
        if (!File.Exists(path)) throw new LoomException($"history: {path} does not exist");
        return Parse(File.ReadAllLines(path), path);
    }

    /// <summary>Parses history CSV lines (see <see cref="Read"/>); <paramref name="name"/> is used in errors.</summary>
    public static List<HistoryRow> Parse(IReadOnlyList<string> lines, string name)
    {
        if (lines.Count == 0 || string.IsNullOrWhiteSpace(lines[0]))
            throw new LoomException($"history: {name} is empty (expected the header '{Header}')");
        var columns = lines[0].Trim().Split(',').Select(c => c.Trim().ToLowerInvariant()).ToArray();
        string[] required = ["step", "epoch", "split", "loss"];
        var missing = required.Where(r => !columns.Contains(r)).ToList();
        if (missing.Count > 0)
            throw new LoomException($"history: {name} line 1: missing column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} (expected '{Header}')");
        int Col(string c) => Array.IndexOf(columns, c);
        var rows = new List<HistoryRow>();
        var lastStep = new Dictionary<string, long>();
        for (var i = 1; i < lines.Count; i++)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line)) continue;
            var cells = line.Split(',');
            if (cells.Length < columns.Length)
                throw new LoomException($"history: {name} line {i + 1}: {cells.Length} values, the header has {columns.Length}");
            var lineNo = i + 1;
            long step = (long)Value(cells, Col("step"), "step", required: true, lineNo, name);
            var epoch = (int)Value(cells, Col("epoch"), "epoch", required: true, lineNo, name);
            var split = cells[Col("split")].Trim();
            if (split.Length == 0) throw new LoomException($"history: {name} line {lineNo}: split is empty");
            var loss = Value(cells, Col("loss"), "loss", required: false, lineNo, name);
            var acc = Value(cells, Col("accuracy"), "accuracy", required: false, lineNo, name);
            var lr = Value(cells, Col("lr"), "lr", required: false, lineNo, name);
            var gn = Value(cells, Col("grad_norm"), "grad_norm", required: false, lineNo, name);
            if (lastStep.TryGetValue(split, out var prev) && step < prev)
                throw new LoomException($"history: {name} line {lineNo}: step {step} comes after step {prev} of split '{split}' (steps must not decrease)");
            lastStep[split] = step;
            rows.Add(new HistoryRow(step, epoch, split, loss, acc, lr, gn));
        }
        if (rows.Count == 0) throw new LoomException($"history: {name} has a header but no rows");
        return rows;
    }

    private static double Value(string[] cells, int col, string column, bool required, int line, string name)
    {
        if (col < 0) return double.NaN;
        var text = cells[col].Trim();
        if (text.Length == 0)
        {
            if (required) throw new LoomException($"history: {name} line {line}: {column} is empty");
            return double.NaN;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
        if (text.Equals("nan", StringComparison.OrdinalIgnoreCase)) return double.NaN;
        if (text.Equals("inf", StringComparison.OrdinalIgnoreCase) || text.Equals("infinity", StringComparison.OrdinalIgnoreCase)) return double.PositiveInfinity;
        if (text.Equals("-inf", StringComparison.OrdinalIgnoreCase) || text.Equals("-infinity", StringComparison.OrdinalIgnoreCase)) return double.NegativeInfinity;
        throw new LoomException($"history: {name} line {line}: {column} '{text}' is not a number");
    }
}
