using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using Loom.Kernels;

namespace Loom.Bench;

/// <summary>
/// Workloads W1–W7 of ../shared/anchors/torchsharp, printed as the same markdown table.
/// Every (workload, thread count) runs in a fresh child process: this program again, with <c>--child W T</c>.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage: Loom.Bench [W1 W2 ...] [--out FILE] [--reference FILE] [--no1] [--width 512|256|portable]
          W1 W2 ...         workloads to run (default: all)
          --out FILE        also write the results table to FILE
          --reference FILE  add the reference median, a Loom/ref column and a speed × column (> 1: Loom faster; ref/Loom for
                            times), matching (W, case, thr) against a table
                            in the TorchSharp program's format (its --out file or results-run1.md)
          --no1             skip the 1-thread children
          --width W         force the GEMM micro-kernel (sets LOOM_GEMM_WIDTH for the children)
        """;

    public static int Main(string[] args)
    {
        var ci = Array.IndexOf(args, "--child");
        if (ci >= 0 && ci + 2 < args.Length) return Child(args[ci + 1], int.Parse(args[ci + 2], CultureInfo.InvariantCulture));
        try
        {
            return Orchestrate(args);
        }
        catch (BenchException e)
        {
            Console.Error.WriteLine("Loom.Bench: " + e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private static int Orchestrate(string[] args)
    {
        var want = new List<string>();
        string? outFile = null, refFile = null, width = null;
        var with1 = true;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new BenchException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--out": outFile = Value(); break;
                case "--reference": refFile = Value(); break;
                case "--width": width = Value(); break;
                case "--no1": with1 = false; break;
                case "-h" or "--help": Console.WriteLine(Usage); return 0;
                default:
                    if (args[i].StartsWith('-')) throw new BenchException($"unknown option {args[i]}");
                    var w = args[i].ToUpperInvariant();
                    if (Workload.All.All(x => x.Id != w)) throw new BenchException($"unknown workload {args[i]} (have {string.Join(' ', Workload.All.Select(x => x.Id))})");
                    want.Add(w);
                    break;
            }
        }
        if (width != null) Environment.SetEnvironmentVariable("LOOM_GEMM_WIDTH", width); // read by the children's Gemm
        var reference = refFile == null ? null : File.Exists(refFile) ? ReferenceTable.Load(refFile) : throw new BenchException($"{refFile}: no such file");
        var jobs = Workload.All.Where(w => want.Count == 0 || want.Contains(w.Id))
            .SelectMany(w => w.ThreadCounts.Where(t => with1 || t != 1).Select(t => (W: w.Id, Thr: t))).ToList();

        var header = Header(width);
        foreach (var h in header) Console.WriteLine(h);
        if (reference != null) Console.WriteLine($"reference: {refFile} ({reference.Count} rows)");
        var total = Stopwatch.StartNew();
        var rows = new List<Row>();
        var footer = new List<string>();
        foreach (var (w, thr) in jobs)
        {
            Console.WriteLine($"== [{total.Elapsed.TotalSeconds,6:F1}s] child {w} threads={thr}");
            var code = RunChild(w, thr, rows, footer);
            if (code != 0) footer.Add($"{w} threads={thr}: FAILED exit code {code}");
        }

        var table = new StringBuilder();
        foreach (var h in header) table.AppendLine("- " + h);
        if (reference != null) table.AppendLine($"- reference: {refFile}");
        table.AppendLine();
        table.AppendLine(reference == null
            ? "| W | case | thr | metric | median | min | max | n | note |\n|---|---|---|---|---|---|---|---|---|"
            : "| W | case | thr | metric | median | min | max | n | note | ref median | Loom/ref | speed × |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var line = $"| {r.W} | {r.Case} | {r.Threads} | {r.Metric} | {Row.Fmt(r.Med)} | {Row.Fmt(r.Min)} | {Row.Fmt(r.Max)} | {r.N} | {r.Note} |";
            if (reference != null)
            {
                var m = reference.Find(r.W, r.Case, r.Threads);
                line += m is { } v
                    ? $" {Row.Fmt(v)} | {(r.Med / v).ToString("F2", CultureInfo.InvariantCulture)} | {Speedup(r.Metric, r.Med, v)} |"
                    : " - | - | - |";
            }
            table.AppendLine(line);
        }
        table.AppendLine();
        foreach (var f in footer) table.AppendLine("- " + f);
        table.AppendLine($"- total wall {total.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine();
        Console.WriteLine("==================== RESULTS ====================");
        Console.Write(table);
        if (outFile != null) File.WriteAllText(outFile, table.ToString());
        return rows.Count > 0 && !footer.Any(f => f.Contains("FAILED", StringComparison.Ordinal)) ? 0 : 1;
    }

    /// <summary>
    /// How many times faster Loom is than the reference (&gt; 1: Loom faster): Loom/ref for rates (GFLOP/s, images/s,
    /// steps/s, …), ref/Loom for times (ms, s, s/epoch); "-" for metrics that are not speeds (MiB, accuracy).
    /// </summary>
    private static string Speedup(string metric, double loom, double reference)
    {
        var m = metric.Trim();
        double? speed = m is "ms" or "s" or "s/epoch" ? reference / loom : m.EndsWith("/s", StringComparison.Ordinal) ? loom / reference : null;
        return speed is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";
    }

    private static int RunChild(string w, int thr, List<Row> rows, List<string> footer)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("--child");
        psi.ArgumentList.Add(w);
        psi.ArgumentList.Add(thr.ToString(CultureInfo.InvariantCulture));
        using var p = Process.Start(psi) ?? throw new BenchException($"could not start {host}");
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null) Console.WriteLine("   ! " + e.Data);
        };
        p.BeginErrorReadLine();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) != null)
        {
            if (line.StartsWith("ROW\t", StringComparison.Ordinal))
            {
                var r = Row.Parse(line);
                rows.Add(r);
                Console.WriteLine($"   {r.W,-4} {r.Case,-42} thr={r.Threads} {r.Metric,-10} median={Row.Fmt(r.Med)} min={Row.Fmt(r.Min)} max={Row.Fmt(r.Max)} n={r.N} {r.Note}");
            }
            else if (line.StartsWith("CHILD\t", StringComparison.Ordinal)) footer.Add(line[6..]);
            else Console.WriteLine("   " + line);
        }
        p.WaitForExit();
        return p.ExitCode;
    }

    private static int Child(string w, int thr)
    {
        var sw = Stopwatch.StartNew();
        var workload = Workload.All.FirstOrDefault(x => x.Id == w) ?? throw new BenchException($"unknown workload {w}");
        if (thr > 0) Threads.Count = thr;
        workload.Run(thr, r => Console.WriteLine(r.Serialize()));
        using var self = Process.GetCurrentProcess();
        Console.WriteLine($"CHILD\t{w} threads={thr}: wall {sw.Elapsed.TotalSeconds:F1} s, PeakWorkingSet64 {self.PeakWorkingSet64 / 1048576} MiB");
        return 0;
    }

    private static List<string> Header(string? width) =>
    [
        $"Loom.Bench  .NET {Environment.Version}  CPU: {CpuModel()}  cores={Environment.ProcessorCount}",
        $"GEMM kernel: {GemmF32.Describe()}{(width != null ? " (forced by --width)" : "")}  Avx512F={Avx512F.IsSupported} Fma={Fma.IsSupported} " +
        $"Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated}",
        $"threads: per child as listed (Loom.Threads.Count; default here {Threads.Count})",
    ];

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line == null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}

/// <summary>A bad command line: printed as one line with the usage.</summary>
public sealed class BenchException(string message) : Exception(message);
