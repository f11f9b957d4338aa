using Loom.Tests.Data;

namespace Loom.Tests.Reliability.Fuzz;

/// <summary>
/// Mutation fuzzing of every reader of user files and of the command line: only <see cref="LoomException"/>s with
/// a one-line message, no other exception, no hang, no allocation beyond a small multiple of the input.
/// A few thousand cases each in CI; the explicit tests run 100,000 each (docs/reliability.md has the figures).
/// </summary>
[Collection("Reliability: global RNG")]
public sealed class FuzzTests
{
    public static TheoryData<string> Targets => ["idx", "safetensors", "spec", "history", "cli", "image"];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Ci(string target) => Fuzz(target, FuzzHarness.CiIterations);

    [Theory(Explicit = true)]
    [MemberData(nameof(Targets))]
    public void Long(string target) => Fuzz(target, FuzzHarness.LongIterations);

    private static void Fuzz(string target, long iterations)
    {
        using var scratch = new TempDirectory();
        var summary = target switch
        {
            "idx" => FuzzHarness.Run("idx", FuzzTargets.IdxSeeds(), Mutator.Mutate, FuzzTargets.Idx, iterations, b => FuzzTargets.Budget(b.Length), Convert.ToBase64String),
            "safetensors" => FuzzHarness.Run("safetensors", FuzzTargets.SafetensorsSeeds(), Mutator.Mutate, FuzzTargets.Safetensors, iterations,
                b => FuzzTargets.Budget(b.Length), Convert.ToBase64String),
            "spec" => FuzzHarness.Run("spec", FuzzTargets.SpecSeeds(), Mutator.MutateText, FuzzTargets.Spec, iterations, describe: s => s),
            "history" => FuzzHarness.Run("history", FuzzTargets.HistorySeeds(), Mutator.MutateText, FuzzTargets.HistoryText, iterations,
                s => FuzzTargets.Budget(s.Length * 2), s => s),
            "image" => FuzzHarness.Run("image", FuzzTargets.ImageSeeds(), Mutator.Mutate, FuzzTargets.ImageFile(scratch.Path), iterations,
                b => Math.Max(64L << 20, 8192L * b.Length) + FuzzTargets.Budget(b.Length), Convert.ToBase64String),
            "cli" => FuzzHarness.Run("cli", FuzzTargets.CliSeeds(scratch.Path), (s, r) => FuzzTargets.MutateCli(s, r, scratch.Path), FuzzTargets.Cli,
                iterations, describe: a => string.Join(" ", a.Select(t => $"'{t}'"))),
            _ => throw new ArgumentOutOfRangeException(nameof(target)),
        };
        Figures.Write(summary);
    }
}
