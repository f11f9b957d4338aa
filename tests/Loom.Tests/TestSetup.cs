using System.Runtime.CompilerServices;

namespace Loom.Tests;

/// <summary>What every test in this assembly may rely on, set once when the assembly loads.</summary>
internal static class TestSetup
{
    /// <summary>Image-folder tests decode PNGs: register the Skia decoder, as the loom command line does.</summary>
    [ModuleInitializer]
    internal static void Initialize() => global::Loom.Imaging.SkiaImageDecoder.Register();
}
