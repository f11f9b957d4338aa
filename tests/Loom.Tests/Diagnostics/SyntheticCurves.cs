using Loom.Training;

namespace Loom.Tests.Diagnostics;

/// <summary>
/// Hand-made histories, one per shape the doctor must recognise (the acceptance's list), with seeded noise: 10 epochs
/// of 60 steps, a validation row per epoch. Each returns the rows and the number of classes.
/// </summary>
public static class SyntheticCurves
{
    public const int StepsPerEpoch = 60;
    public const int Epochs = 10;

    /// <summary>The curve names, as the tests' theory data and file names.</summary>
    public static readonly string[] Names = ["healthy", "spikes", "nan", "plateau", "initial-high", "overfit", "bouncing", "barely-moving"];

    /// <summary>The codes each curve must produce (and no other pathology code).</summary>
    public static string[] Expected(string name) => name switch
    {
        "healthy" => ["healthy"],
        "spikes" => ["loss-spikes", "exploding-gradients"],
        "nan" => ["diverged"],
        "plateau" => ["plateau-at-chance"],
        "initial-high" => ["initial-loss-off"],
        "overfit" => ["overfitting"],
        "bouncing" => ["oscillating"],
        "barely-moving" => ["slow-convergence"],
        _ => throw new ArgumentException(name),
    };

    public static (List<HistoryRow> Rows, int Classes) Make(string name)
    {
        var random = new Random(7);
        double Noise(double scale) => scale * (random.NextDouble() * 2 - 1);
        var lnC = Math.Log(10);
        return name switch
        {
            // Exponential decay from ln 10 to 0.1, 5 % multiplicative batch noise; validation follows.
            "healthy" => (Build(t => (lnC - 0.1) * Math.Exp(-t / 120.0) + 0.1, t => 1 + Noise(0.2), Noise, val: e => (lnC - 0.1) * Math.Exp(-e * StepsPerEpoch / 120.0) + 0.12), 10),
            // Four classes, decay from ln 4 to 0.5 with six two-step jumps to 2.5 (above ln 4) that come back; grad norm ×40 there.
            "spikes" => (Build(t => Spiky(t) ? 2.5 + Noise(0.1) : (Math.Log(4) - 0.5) * Math.Exp(-t / 150.0) + 0.5, t => Spiky(t) ? 40 : 1 + Noise(0.2), Noise, classes: 4), 4),
            // Healthy for 300 steps, then NaN.
            "nan" => (Build(t => t >= 300 ? double.NaN : (lnC - 0.1) * Math.Exp(-t / 120.0) + 0.1, t => t >= 300 ? double.NaN : 1 + Noise(0.2), Noise), 10),
            // ln 4 ± 1 % and accuracy ≈ 25 % all along.
            "plateau" => (Build(_ => Math.Log(4), _ => 0.5 + Noise(0.1), Noise, classes: 4, accuracy: _ => 0.25 + Noise(0.08)), 4),
            // Starts at 40 (logits far too large), falls back to a normal decay within 30 steps.
            "initial-high" => (Build(t => 40 * Math.Exp(-t / 6.0) + (lnC - 0.1) * Math.Exp(-t / 120.0) + 0.1, _ => 1 + Noise(0.2), Noise), 10),
            // Training falls all along; validation is lowest at epoch 4, then rises by 60 %.
            "overfit" => (Build(t => (lnC - 0.05) * Math.Exp(-t / 80.0) + 0.05, _ => 1 + Noise(0.2), Noise, val: e => e <= 4 ? 2.3 - 0.4 * e : 0.7 + 0.15 * (e - 4)), 10),
            // Uniform between 0.8 and 2.6, no trend.
            "bouncing" => (Build(_ => 1.7, _ => 3 + Noise(1), _ => Noise(0.9)), 10),
            // 1.5 → 1.46 in a straight line over 600 steps, little noise.
            "barely-moving" => (Build(t => 1.5 - 0.04 * t / (StepsPerEpoch * Epochs), _ => 1 + Noise(0.2), s => Noise(0.01)), 10),
            _ => throw new ArgumentException(name),
        };
    }

    private static bool Spiky(int t) => t % 90 is 45 or 46;

    /// <summary>
    /// Rows for <paramref name="loss"/>(t) with <paramref name="noise"/>(scale) added (scale 5 % of the value) and the
    /// accuracy of a model at that loss (default: e^{−loss} mixed up to 1/C).
    /// </summary>
    private static List<HistoryRow> Build(Func<int, double> loss, Func<int, double> gradNorm, Func<double, double> noise,
        Func<int, double>? val = null, int classes = 10, Func<int, double>? accuracy = null)
    {
        var rows = new List<HistoryRow>();
        for (var e = 1; e <= Epochs; e++)
        {
            for (var b = 0; b < StepsPerEpoch; b++)
            {
                var t = (e - 1) * StepsPerEpoch + b;
                var l = loss(t);
                var value = l + noise(0.05 * l);
                var acc = accuracy?.Invoke(t) ?? Math.Clamp(Math.Exp(-l) + 1.0 / classes, 0, 1);
                rows.Add(new HistoryRow(t + 1, e, "train", value, acc, 1e-3, gradNorm(t)));
            }
            var step = (long)e * StepsPerEpoch;
            var v = val?.Invoke(e) ?? loss(e * StepsPerEpoch - 1) + 0.02;
            rows.Add(new HistoryRow(step, e, "val", v, Math.Clamp(Math.Exp(-v) + 1.0 / classes, 0, 1), 1e-3, double.NaN));
        }
        return rows;
    }
}
