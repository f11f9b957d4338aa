namespace Loom.Diagnostics.Doctor;

/// <summary>Medians, MADs and their rolling (centred) versions; NaN values are ignored.</summary>
internal static class RobustStats
{
    /// <summary>The median of the finite values (NaN when there are none).</summary>
    public static double Median(ReadOnlySpan<double> values)
    {
        var buffer = new double[values.Length];
        var n = 0;
        foreach (var v in values)
            if (double.IsFinite(v)) buffer[n++] = v;
        return MedianInPlace(buffer.AsSpan(0, n));
    }

    /// <summary>Median absolute deviation from the median (finite values only).</summary>
    public static double Mad(ReadOnlySpan<double> values)
    {
        var median = Median(values);
        var deviations = new double[values.Length];
        for (var i = 0; i < values.Length; i++) deviations[i] = double.IsFinite(values[i]) ? Math.Abs(values[i] - median) : double.NaN;
        return Median(deviations);
    }

    /// <summary>
    /// For each i the median of the finite values in the centred window [i − w/2, i + w/2] (cut at the ends), so a
    /// short excursion does not move it. The window slides over a sorted buffer (binary-search insert and remove):
    /// O(n·w) moves instead of a sort per step — the live doctor calls this on the whole history at each diagnosis.
    /// </summary>
    public static double[] RollingMedian(ReadOnlySpan<double> values, int window)
    {
        var half = window / 2;
        var n = values.Length;
        var result = new double[n];
        var sorted = new List<double>(window + 1);
        var hi = -1; // last index inside the window
        for (var i = 0; i < n; i++)
        {
            while (hi < Math.Min(n - 1, i + half))
            {
                hi++;
                if (double.IsFinite(values[hi])) Insert(sorted, values[hi]);
            }
            var leaving = i - half - 1;
            if (leaving >= 0 && double.IsFinite(values[leaving])) sorted.RemoveAt(sorted.BinarySearch(values[leaving]));
            var count = sorted.Count;
            result[i] = count == 0 ? double.NaN : count % 2 == 1 ? sorted[count / 2] : 0.5 * (sorted[(count / 2) - 1] + sorted[count / 2]);
        }
        return result;
    }

    /// <summary>For each i the mean of the finite values in the centred window (prefix sums: O(n)).</summary>
    public static double[] RollingMean(ReadOnlySpan<double> values, int window)
    {
        var half = window / 2;
        var n = values.Length;
        var sums = new double[n + 1];
        var counts = new int[n + 1];
        for (var i = 0; i < n; i++)
        {
            var finite = double.IsFinite(values[i]);
            sums[i + 1] = sums[i] + (finite ? values[i] : 0);
            counts[i + 1] = counts[i] + (finite ? 1 : 0);
        }
        var result = new double[n];
        for (var i = 0; i < n; i++)
        {
            var lo = Math.Max(0, i - half);
            var hi = Math.Min(n - 1, i + half) + 1;
            var c = counts[hi] - counts[lo];
            result[i] = c == 0 ? double.NaN : (sums[hi] - sums[lo]) / c;
        }
        return result;
    }

    private static void Insert(List<double> sorted, double value)
    {
        var k = sorted.BinarySearch(value);
        sorted.Insert(k >= 0 ? k : ~k, value);
    }

    private static double MedianInPlace(Span<double> values)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
    }
}
