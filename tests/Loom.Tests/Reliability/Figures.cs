namespace Loom.Tests.Reliability;

/// <summary>
/// Where the long runs' figures go: the test's output, and (the runner shows no output of passing tests) the file
/// named by <c>LOOM_RELIABILITY_LOG</c>, which tests/long/run-reliability.sh sets.
/// </summary>
internal static class Figures
{
    private static readonly object Gate = new();

    public static void Write(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        var log = Environment.GetEnvironmentVariable("LOOM_RELIABILITY_LOG");
        if (string.IsNullOrEmpty(log)) return;
        lock (Gate) File.AppendAllText(log, $"{DateTime.UtcNow:u} {line}\n");
    }
}
