using System.Globalization;

namespace Loom.Bench;

/// <summary>One result line, serialised between child and parent exactly as the TorchSharp reference program does.</summary>
public sealed record Row(string W, string Case, int Threads, string Metric, double Med, double Min, double Max, int N, string Note = "")
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public string Serialize() => string.Join('\t', "ROW", W, Case, Threads.ToString(Inv), Metric,
        Med.ToString("R", Inv), Min.ToString("R", Inv), Max.ToString("R", Inv), N.ToString(Inv), Note);

    public static Row Parse(string line)
    {
        var f = line.Split('\t');
        static double D(string s) => double.Parse(s, Inv);
        return new Row(f[1], f[2], int.Parse(f[3], Inv), f[4], D(f[5]), D(f[6]), D(f[7]), int.Parse(f[8], Inv), f.Length > 9 ? f[9] : "");
    }

    /// <summary>The reference's number format: thousands separators from 1e5, one decimal from 100, two from 1, else 3 digits.</summary>
    public static string Fmt(double v) => double.IsNaN(v) ? "-" :
        Math.Abs(v) >= 1e5 ? v.ToString("N0", Inv) :
        Math.Abs(v) >= 100 ? v.ToString("F1", Inv) :
        Math.Abs(v) >= 1 ? v.ToString("F2", Inv) : v.ToString("G3", Inv);
}
