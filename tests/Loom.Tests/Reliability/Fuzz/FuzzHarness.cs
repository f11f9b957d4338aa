using System.Diagnostics;
using CsCheck;

namespace Loom.Tests.Reliability.Fuzz;

/// <summary>
/// Runs a target over CsCheck-drawn mutations of seed inputs. Each case may only return or throw
/// <see cref="LoomException"/> with a non-empty one-line message; any other exception fails with the case's seed
/// (replay with <see cref="Mutator.Mutate"/>). Allocation on the test thread is bounded by the input's size (a
/// header field must not make a reader allocate beyond what the file holds), and a case that runs more than a
/// minute is a hang: a watchdog saves the input under the temp folder and ends the process, as a fuzzer would.
/// </summary>
internal static class FuzzHarness
{
    /// <summary>Cases per target in CI; the explicit long run uses <see cref="LongIterations"/>.</summary>
    public const int CiIterations = 2000;

    public const long LongIterations = 100_000;

    public static string Run<T>(string name, T[] seeds, Func<T, ulong, T> mutate, Action<T> target, long iterations,
        Func<T, long>? allowedAllocation = null, Func<T, string>? describe = null)
    {
        long rejected = 0, accepted = 0;
        var current = default(T);
        var started = Stopwatch.GetTimestamp();
        var busy = 0;
        using var watchdog = new Timer(_ =>
        {
            if (Volatile.Read(ref busy) == 0 || Stopwatch.GetElapsedTime(Volatile.Read(ref started)) < TimeSpan.FromMinutes(1)) return;
            var file = Path.Combine(Path.GetTempPath(), $"loom-fuzz-hang-{name}-{Environment.ProcessId}.bin");
            File.WriteAllText(file, describe?.Invoke(current!) ?? current?.ToString() ?? "");
            Environment.FailFast($"fuzz {name}: a case ran for over a minute (a hang); its input is in {file}");
        }, null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        var gen = Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.ULong);
        gen.Sample((index, rngSeed) =>
        {
            var input = mutate(seeds[index], rngSeed);
            current = input;
            Volatile.Write(ref started, Stopwatch.GetTimestamp());
            Volatile.Write(ref busy, 1);
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                target(input);
                Interlocked.Increment(ref accepted);
            }
            catch (LoomException e)
            {
                Interlocked.Increment(ref rejected);
                if (string.IsNullOrWhiteSpace(e.Message) || e.Message.Contains('\n', StringComparison.Ordinal))
                    throw new InvalidOperationException($"fuzz {name}: a LoomException without a one-line message: '{e.Message}' (seed {index}, {rngSeed})");
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"fuzz {name}: {e.GetType().Name}: {e.Message} (seed input {index}, mutation seed {rngSeed}UL)\n{describe?.Invoke(input)}", e);
            }
            finally
            {
                Volatile.Write(ref busy, 0);
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allowedAllocation is not null && allocated > allowedAllocation(input))
                throw new InvalidOperationException($"fuzz {name}: allocated {allocated} bytes for an input allowed {allowedAllocation(input)} (seed input {index}, mutation seed {rngSeed}UL)");
        }, iter: iterations, threads: 1);
        return $"{name}: {iterations} cases, {accepted} accepted, {rejected} rejected with a LoomException";
    }
}
