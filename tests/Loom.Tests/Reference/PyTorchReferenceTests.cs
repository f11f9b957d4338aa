using System.Diagnostics;
using System.Globalization;
using Loom.Interop;

namespace Loom.Tests.Reference;

/// <summary>
/// Conv and pool forward passes and all gradients agree with PyTorch's on the recorded cases (tests/reference/data,
/// or $LOOM_REFERENCE_DIR), in float32 within 1e-4·(1 + |ref|) and in float64 within 1e-6·(1 + |ref|) (the stored
/// references are float32-rounded float64 results, so float64 is limited by that rounding).
/// </summary>
public class PyTorchReferenceTests
{
    public static TheoryData<string> Families => new(ReferenceFiles.Families);

    [Theory]
    [MemberData(nameof(Families))]
    public void Float32AgreesWithPyTorch(string family) => Check(ReferenceReplay.Run(ReferenceFiles.Dir, family, DType.Float32, 1e-4));

    [Theory]
    [MemberData(nameof(Families))]
    public void Float64AgreesWithPyTorch(string family) => Check(ReferenceReplay.Run(ReferenceFiles.Dir, family, DType.Float64, 1e-6));

    [Fact]
    public void CommittedSetHasAtLeast200Cases()
    {
        var total = 0;
        foreach (var family in ReferenceFiles.Families)
        {
            var (_, metadata) = Safetensors.Load(Path.Combine(ReferenceFiles.CommittedDir, family + ".safetensors"));
            Assert.Equal(family, metadata["family"]);
            total += int.Parse(metadata["count"], CultureInfo.InvariantCulture);
        }
        Assert.True(total >= 200, $"only {total} committed reference cases");
        var (_, conv2d) = Safetensors.Load(Path.Combine(ReferenceFiles.CommittedDir, "conv2d.safetensors"));
        Assert.True(int.Parse(conv2d["count"], CultureInfo.InvariantCulture) >= 100);
    }

    /// <summary>Runs the generator with a fresh seed (needs Debian's python3-torch) and replays everything it wrote.</summary>
    [Fact]
    public void FreshSeedFromPyTorchAgrees()
    {
        TorchPython.Require();
        var seed = Random.Shared.Next(2, 1_000_000);
        var dir = Directory.CreateTempSubdirectory("loom-reference-");
        try
        {
            var (code, output) = TorchPython.Run([ReferenceFiles.GeneratorScript, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--out", dir.FullName], TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"generate.py --seed {seed} failed ({code}): {output}");
            foreach (var family in ReferenceFiles.Families)
                Check(ReferenceReplay.Run(dir.FullName, family, DType.Float32, 1e-4), $"seed {seed}: ");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Check(ReplayReport report, string prefix = "")
    {
        TestContext.Current.TestOutputHelper?.WriteLine(prefix + report);
        Assert.True(report.Cases > 0, $"{prefix}{report.Family}: no cases");
        Assert.True(report.Failures.Count == 0, $"{prefix}{report}\n{string.Join("\n", report.Failures.Take(10))}");
    }
}
