using System.Globalization;

namespace Loom.Bench;

/// <summary>
/// A reference results table in the TorchSharp program's markdown format
/// (<c>| W | case | thr | metric | median | … |</c>). A median cell may be plain (<c>191.4</c>, <c>806,575</c>) or
/// RESULTS.md's <c>**191.4** (7.67–199.3)</c>.
/// </summary>
public sealed class ReferenceTable
{
    private readonly List<(string W, string Case, int Threads, double Median)> _rows = [];

    public int Count => _rows.Count;

    public static ReferenceTable Load(string path)
    {
        var table = new ReferenceTable();
        foreach (var line in File.ReadLines(path))
        {
            var cells = line.Trim().Trim('|').Split('|').Select(s => s.Trim()).ToArray();
            if (!line.TrimStart().StartsWith('|') || cells.Length < 5) continue;
            if (!int.TryParse(cells[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var thr)) continue; // header, separator
            if (ParseMedian(cells[4]) is { } med) table._rows.Add((cells[0], cells[1], thr, med));
        }
        return table;
    }

    /// <summary>The first number of a cell, without bold markers and thousands separators.</summary>
    public static double? ParseMedian(string cell)
    {
        var s = cell.Replace("**", "", StringComparison.Ordinal).Trim();
        var cut = s.IndexOf(' ', StringComparison.Ordinal);
        if (cut >= 0) s = s[..cut];
        s = s.Replace(",", "", StringComparison.Ordinal);
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>
    /// The reference median for (W, case, threads): the case labels match when one's words start the other's
    /// (<c>mm n=1024</c> matches <c>mm n=1024</c> but not <c>mm n=10240</c>). Trailing commas and the TorchSharp-only
    /// word <c>DisposeScope</c> are ignored (<c>add 1-elem, per op</c> matches <c>add 1-elem, DisposeScope per op</c>).
    /// </summary>
    public double? Find(string w, string caseLabel, int threads)
    {
        foreach (var r in _rows)
        {
            if (r.W == w && r.Threads == threads && WordPrefix(r.Case, caseLabel)) return r.Median;
        }
        return null;
    }

    private static bool WordPrefix(string x, string y)
    {
        var a = Words(x);
        var b = Words(y);
        var n = Math.Min(a.Length, b.Length);
        if (n == 0) return false;
        for (var i = 0; i < n; i++)
        {
            if (a[i] != b[i]) return false;
        }
        return true;
    }

    private static string[] Words(string s) =>
        s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.TrimEnd(',')).Where(w => w != "DisposeScope").ToArray();
}
