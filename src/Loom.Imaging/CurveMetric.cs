namespace Loom.Imaging;

/// <summary>A column of <c>history.csv</c> that <see cref="CurvesPlot"/> can draw.</summary>
public enum CurveMetric
{
    /// <summary>The cross-entropy loss (<c>loss</c>): train per step, validation per epoch.</summary>
    Loss,

    /// <summary>The accuracy (<c>accuracy</c>): train per step, validation per epoch.</summary>
    Accuracy,

    /// <summary>The learning rate of the first parameter group (<c>lr</c>), per step.</summary>
    Lr,

    /// <summary>The gradients' global L2 norm before clipping (<c>grad_norm</c>), per step.</summary>
    GradNorm,
}

/// <summary>Names of <see cref="CurveMetric"/> as <c>history.csv</c> and the command line spell them.</summary>
public static class CurveMetrics
{
    /// <summary>The names the command line accepts: <c>loss</c>, <c>accuracy</c>, <c>lr</c>, <c>grad_norm</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["loss", "accuracy", "lr", "grad_norm"];

    /// <summary>The column name of <paramref name="metric"/> (<c>grad_norm</c> for <see cref="CurveMetric.GradNorm"/>).</summary>
    public static string Name(CurveMetric metric) => metric switch
    {
        CurveMetric.Loss => "loss",
        CurveMetric.Accuracy => "accuracy",
        CurveMetric.Lr => "lr",
        CurveMetric.GradNorm => "grad_norm",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };

    /// <summary>Parses a column name (case-insensitive; <c>grad-norm</c> is accepted too); an unknown name lists the known ones.</summary>
    public static CurveMetric Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "loss" => CurveMetric.Loss,
            "accuracy" or "acc" => CurveMetric.Accuracy,
            "lr" => CurveMetric.Lr,
            "grad_norm" or "grad-norm" => CurveMetric.GradNorm,
            _ => throw new LoomException($"plot: unknown metric '{name}'; known: {string.Join(", ", Names)}"),
        };
    }

    /// <summary>The value of <paramref name="metric"/> in <paramref name="row"/> (NaN when the cell was empty).</summary>
    public static double Value(this Training.HistoryRow row, CurveMetric metric)
    {
        ArgumentNullException.ThrowIfNull(row);
        return metric switch
        {
            CurveMetric.Loss => row.Loss,
            CurveMetric.Accuracy => row.Accuracy,
            CurveMetric.Lr => row.Lr,
            CurveMetric.GradNorm => row.GradNorm,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
        };
    }
}
