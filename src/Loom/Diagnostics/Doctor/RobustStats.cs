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
    /// short excursion does not move it.
    /// </summary>
    public static double[] RollingMedian(ReadOnlySpan<double> values, int window)
    {
        var half = window / 2;
        var result = new double[values.Length];
        var buffer = new double[window];
        for (var i = 0; i < values.Length; i++)
        {
            var lo = Math.Max(0, i - half);
            var hi = Math.Min(values.Length - 1, i + half);
            var n = 0;
            for (var j = lo; j <= hi; j++)
                if (double.IsFinite(values[j])) buffer[n++] = values[j];
            result[i] = MedianInPlace(buffer.AsSpan(0, n));
        }
        return result;
    }

    /// <summary>For each i the mean of the finite values in the centred window.</summary>
    public static double[] RollingMean(ReadOnlySpan<double> values, int window)
    {
        var half = window / 2;
        var result = new double[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            double sum = 0;
            var n = 0;
            for (var j = Math.Max(0, i - half); j <= Math.Min(values.Length - 1, i + half); j++)
            {
                if (!double.IsFinite(values[j])) continue;
                sum += values[j];
                n++;
            }
            result[i] = n == 0 ? double.NaN : sum / n;
        }
        return result;
    }

    private static double MedianInPlace(Span<double> values)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
    }
}
