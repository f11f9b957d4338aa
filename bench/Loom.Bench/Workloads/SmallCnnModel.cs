using Loom.Nn;
using Loom.Nn.Spec;

namespace Loom.Bench;

/// <summary>
/// The reference program's SmallCnn: conv(1→32, 3, p=1) relu maxpool(2) conv(32→64, 3, p=1) relu maxpool(2) flatten
/// linear(3136→128) relu linear(128→10), built from Loom's <c>smallcnn</c> preset (the same layer list).
/// </summary>
internal static class SmallCnnModel
{
    public static Sequential Create(Generator generator) =>
        ModelBuilder.Build(Presets.Resolve("smallcnn", 10), new Shape(1, 28, 28), generator).Model;

    /// <summary>Working set of this process in MiB.</summary>
    public static long WorkingSetMiB()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.WorkingSet64 / 1048576;
    }

    /// <summary>Peak working set of this process in MiB.</summary>
    public static long PeakWorkingSetMiB()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64 / 1048576;
    }
}
