namespace Loom;

/// <summary>
/// The process-wide default random generator (PyTorch's global RNG): default initialisations and dropout draw from
/// it unless given their own <see cref="Generator"/>. <see cref="ManualSeed"/> makes a run reproducible.
/// </summary>
public static class Rng
{
    /// <summary>The default generator.</summary>
    public static Generator Global { get; } = new(0);

    /// <summary>Reseeds the default generator (PyTorch's <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(ulong seed) => Global.ManualSeed(seed);
}
