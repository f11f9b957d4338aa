using Loom.Diagnostics.Doctor;

namespace Loom.Tests.Diagnostics;

public class RobustStatsTests
{
    /// <summary>The sliding-window median and the prefix-sum mean equal the plain per-window computation, NaNs skipped.</summary>
    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 37)]
    [InlineData(3, 4)]
    public void RollingStatisticsMatchThePlainDefinition(int seed, int window)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, 300).Select(i => i % 17 == 3 ? double.NaN : Math.Round(random.NextDouble() * 10, 1)).ToArray();
        var median = RobustStats.RollingMedian(values, window);
        var mean = RobustStats.RollingMean(values, window);
        for (var i = 0; i < values.Length; i++)
        {
            var w = values.Skip(Math.Max(0, i - window / 2)).Take(Math.Min(values.Length - 1, i + window / 2) - Math.Max(0, i - window / 2) + 1)
                .Where(double.IsFinite).Order().ToArray();
            var expected = w.Length % 2 == 1 ? w[w.Length / 2] : 0.5 * (w[(w.Length / 2) - 1] + w[w.Length / 2]);
            Assert.Equal(expected, median[i]);
            Assert.Equal(w.Average(), mean[i], 9);
        }
    }

    [Fact]
    public void MedianAndMadIgnoreNaN()
    {
        double[] v = [1, double.NaN, 2, 10, 3];
        Assert.Equal(2.5, RobustStats.Median(v));
        Assert.Equal(1.0, RobustStats.Mad(v)); // |1−2.5|,|2−2.5|,|10−2.5|,|3−2.5| → 1.5, 0.5, 7.5, 0.5 → median 1.0
    }
}
