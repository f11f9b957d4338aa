using System.Globalization;

namespace Loom.Diagnostics.Doctor;

/// <summary>Numbers in summaries: short, invariant culture.</summary>
internal static class Num
{
    public static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("0.###", CultureInfo.InvariantCulture);

    public static string G(double v) => v.ToString("G3", CultureInfo.InvariantCulture);

    public static string P(double v) => v.ToString("0.#%", CultureInfo.InvariantCulture);
}
