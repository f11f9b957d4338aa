namespace Loom.Imaging;

/// <summary>The smoothed line drawn over noisy per-step curves.</summary>
internal static class Smoothing
{
    /// <summary>
    /// A centred moving average: point i is the mean of x[i−h … i+h] with h = min(window / 2, i, n − 1 − i), so the
    /// window shrinks symmetrically at both ends (the first and last points are kept as they are). Unlike an
    /// exponential average it does not lag behind the curve.
    /// </summary>
    public static double[] Centred(ReadOnlySpan<double> values, int window)
    {
        var n = values.Length;
        var result = new double[n];
        var prefix = new double[n + 1];
        for (var i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i];
        var half = Math.Max(0, window / 2);
        for (var i = 0; i < n; i++)
        {
            var h = Math.Min(half, Math.Min(i, n - 1 - i));
            result[i] = (prefix[i + h + 1] - prefix[i - h]) / ((2 * h) + 1);
        }
        return result;
    }

    /// <summary>The default window: about a twenty-fifth of the points, odd, at least 1 (1 = no smoothing), at most 201.</summary>
    public static int AutoWindow(int points) => Math.Min(201, Math.Max(1, (points / 25) | 1));
}
