using CsCheck;
using Loom.Data;
using Loom.Tests.Data;

namespace Loom.Tests.Reliability.Fuzz;

/// <summary>Inputs the fuzzers found that once failed, kept so they stay fixed (docs/reliability.md tells each story).</summary>
[Collection("Reliability: global RNG")]
public sealed class FuzzRegressionTests
{
    /// <summary>
    /// A 1×1 BMP whose pixel-data offset is 0x80000036 (over int.MaxValue). Skia skipped to it through a managed
    /// stream callback, SKManagedStream threw ArgumentOutOfRangeException inside native code, and the process aborted
    /// (exit 134): no catch could help. Now Skia reads from native memory and reports a broken image.
    /// </summary>
    [Fact]
    public void ABmpWithAHugePixelOffsetIsABrokenImageNotAnAbort()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge-offset.bmp");
        File.WriteAllBytes(path, Convert.FromBase64String(
            "Qk06AAAAAAAAADYAAIAoAAAAAQAAAAEAAAABABgAAAAAAAAAAAAAAAAAAAAAAABddeTYrWdl1fUAAAAAGAAAAAAAAAAAAAAAAAAAAAAAAF115NitZ2XV9QAAAAAAAAAAAAAKyB43+JOzDUpAKXXPdIUA7F4A"));
        var e = Assert.Throws<LoomException>(() => ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 8, Width = 8 }));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A 58-byte BMP whose header claims 16384×16384 pixels: the decoder allocated the 1 GiB buffer before finding
    /// the data missing (the fuzzer slowed to a crawl on such cases). Now the claim is refused before allocating.
    /// </summary>
    [Fact]
    public void ABmpClaimingAGigabyteOfPixelsIsRefusedBeforeAllocating()
    {
        using var dir = new TempDirectory();
        var path = dir.File("claims-1gib.bmp");
        var bmp = FuzzTargets.ImageSeeds()[1];
        BitConverter.TryWriteBytes(bmp.AsSpan(18), 16384);
        BitConverter.TryWriteBytes(bmp.AsSpan(22), 16384);
        File.WriteAllBytes(path, bmp);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<LoomException>(() => ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 8, Width = 8 }));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "refused before allocating the pixels");
        Assert.Equal($"{path}: the header claims 16384×16384 pixels (1024 MiB decoded) from a 58-byte file; no real image compresses that far, so the file is corrupt", e.Message);
    }

    /// <summary>A spec token holding a newline (from the long spec run): the error quoted it raw, on two lines.</summary>
    [Fact]
    public void ASpecTokenWithANewlineGivesAOneLineError()
    {
        // The exact case: seed spec 6 under mutation seed 1570811709 (CsCheck seed cHpTTbLsfe61).
        var spec = Mutator.MutateText(FuzzTargets.SpecSeeds()[6], 1570811709UL);
        Assert.Contains('\n', spec);
        var e = Assert.Throws<LoomException>(() => FuzzTargets.Spec(spec));
        Assert.StartsWith("spec: conv at position 1: kernel must be an integer, found '3\\nmr", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>
    /// The safetensors failure of the second 100,000-case run (CsCheck seed b0OJQ8fk0711: seed file 2, mutation seed
    /// 212272401892210): the mutated header is not valid JSON, System.Text.Json's message quotes the bytes around the
    /// fault, a newline among them, and the error came out on two lines. Quoted text now goes through ErrorText.Visible.
    /// </summary>
    [Fact]
    public void TheSafetensorsCaseOfTheLongRunGivesAOneLineError()
    {
        // The CsCheck seed replays to exactly this case (the harness draws the seed file, then the mutation seed).
        var replayed = new List<(int, ulong)>();
        Gen.Select(Gen.Int[0, FuzzTargets.SafetensorsSeeds().Length - 1], Gen.ULong).Sample((index, seed) => replayed.Add((index, seed)), iter: 1, threads: 1, seed: "b0OJQ8fk0711");
        Assert.Equal([(2, 212272401892210UL)], replayed);
        var bytes = Mutator.Mutate(FuzzTargets.SafetensorsSeeds()[2], 212272401892210UL);
        var e = Assert.Throws<LoomException>(() => FuzzTargets.Safetensors(bytes));
        Assert.StartsWith("safetensors: the header is not valid JSON ('f9\\u0006\\t[Li\\n\"\\u0000\\u0001", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>A NUL inside a path argument: .NET throws ArgumentException("Null character in path"), which the CLI printed as a stack trace.</summary>
    [Fact]
    public void ANulInAPathArgumentIsOneLine()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        FuzzTargets.Cli(["plot", "/nonexistent/lo\0", "--metric", "loss"], stdout, stderr, out var code);
        Assert.Equal(1, code);
        Assert.Equal("loom: invalid file name: Null character in path. (Parameter 'path')", stderr.ToString().Trim());
    }
}
