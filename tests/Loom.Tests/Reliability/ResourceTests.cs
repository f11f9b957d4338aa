using System.Globalization;
using System.Text.Json.Nodes;

namespace Loom.Tests.Reliability;

/// <summary>
/// A long <c>loom train</c> run, out of process, sampled from outside: its resident set (VmRSS) must stay flat after
/// warm-up and it must need few gen-2 collections. CI runs 2,048 steps; the explicit long test 20,480.
/// </summary>
public sealed class ResourceTests
{
    [Fact]
    public void ShortRunMemoryStaysFlat() => Run(epochs: 8, maxGen2: 5);

    [Fact(Explicit = true)]
    public void TwentyThousandStepRunMemoryStaysFlat() => Run(epochs: 80, maxGen2: 10);

    private static void Run(int epochs, int maxGen2)
    {
        Assert.SkipUnless(File.Exists("/proc/self/status"), "needs /proc to read a process's resident set");
        var dir = Path.Combine(Path.GetTempPath(), "loom-resources-" + Guid.NewGuid().ToString("N"));
        try
        {
            var args = new[]
            {
                "train", "--data", "digits", "--data-dir", TinyDigits.LongRunFolder, "--model", TinyDigits.Model, "--epochs",
                epochs.ToString(CultureInfo.InvariantCulture), "--batch-size", "4", "--seed", "1", "--threads", "1", "--schedule", "cosine", "--out", dir, "--json",
            };
            using var process = LoomProcess.Start(args);
            var samples = new List<(int Epoch, long Rss)>();
            while (!process.HasExited)
            {
                var rss = ReadRss(process.Id);
                var epoch = process.Stderr.Split('\n').Count(l => l.StartsWith("epoch ", StringComparison.Ordinal) && l.Contains("val loss", StringComparison.Ordinal));
                if (rss > 0) samples.Add((epoch, rss));
                Thread.Sleep(50);
            }
            var exit = process.WaitForExit(TimeSpan.FromMinutes(1));
            Assert.True(exit == 0, process.Stderr);
            var report = JsonNode.Parse(process.Stdout)!;
            Assert.Equal(epochs * 256, (long)report["steps"]!);
            var gen2 = (int)report["gc_gen2_collections"]!;
            // Warm-up: the first quarter of the epochs (JIT, pools, the GC settling its budgets). The samples end with
            // the last epoch's line: after it come the final evaluation and the curves.png rendering (ScottPlot and
            // Skia load then, ~6 MiB), which are not the training loop whose flatness is in question.
            var warm = samples.Where(s => s.Epoch >= epochs / 4 && s.Epoch < epochs).ToList();
            Assert.True(warm.Count >= 4, $"too few samples after warm-up ({warm.Count})");
            var baseline = warm.Take(Math.Max(1, warm.Count / 4)).Max(s => s.Rss);
            var peak = warm.Max(s => s.Rss);
            var growth = (double)peak / baseline - 1;
            Figures.Write(
                $"{epochs * 256} steps: RSS after warm-up {baseline / 1048576.0:F1} MiB, peak later {peak / 1048576.0:F1} MiB ({growth:P2}); gen-2 collections {gen2}; {samples.Count} samples");
            Assert.True(growth < 0.05, $"resident set grew {growth:P2} after warm-up ({baseline} → {peak} bytes)");
            Assert.True(gen2 <= maxGen2, $"{gen2} gen-2 collections (at most {maxGen2} expected)");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static long ReadRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
            // the process just ended
        }
        return 0;
    }
}
