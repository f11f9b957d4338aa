using System.Globalization;

namespace Loom.Diagnostics.Doctor;

/// <summary>
/// The concrete re-run for a run whose loss spikes, computed from its own settings (config.json's <c>lr</c>,
/// <c>clip</c>, <c>schedule</c>, <c>epochs</c>): clip the gradient norm (to 1, or the run's own norm when smaller), the
/// learning rate ÷3 rounded to one significant digit (1e-3 → 3e-4 → 1e-4: a re-run that still spikes gets the next
/// step from the doctor on it), a decaying schedule (cosine) instead of a constant rate (a decaying schedule already in
/// use is kept), and three times the epochs: a third of the rate covers a third of the distance per step. Measured on
/// the course's spiky run (docs/doctor.md): with the same 100 epochs the re-run at 3e-4 did not spike but learnt
/// little (test accuracy 0.47 and 0.25: it left chance at epoch 46, or never); with 300, 0.997 and 0.972, no spikes.
/// Unknown rate: no concrete flags, the fixes stay general.
/// </summary>
internal static class Remedy
{
    /// <summary>The suggested settings and the flags that set them, or null when the run's rate is unknown.</summary>
    public static (double Clip, double Lr, string Schedule, int? Epochs, string Flags)? ForSpikes(DoctorOptions? options)
    {
        if (options?.Lr is not { } lr || !(lr > 0) || !double.IsFinite(lr)) return null;
        var clip = options.Clip is > 0 and var c ? Math.Min(c, 1.0) : 1.0;
        var lower = OneDigit(lr / 3);
        var schedule = options.Schedule is null or "" or "none" ? "cosine" : options.Schedule;
        int? epochs = options.Epochs is > 0 and var e ? (int)Math.Min(int.MaxValue, 3L * e) : null;
        return (clip, lower, schedule, epochs,
            $"--clip {Flag(clip)} --lr {Flag(lower)} --schedule {schedule}" + (epochs is { } n ? $" --epochs {n}" : ""));
    }

    /// <summary>The fixes of <c>loss-spikes</c>: the exact re-run first when the settings are known.</summary>
    public static List<string> SpikeFixes(DoctorOptions? options, Dictionary<string, double> evidence)
    {
        if (ForSpikes(options) is not { } r)
            return ["clip the gradient norm (--clip 1)", "lower the learning rate (÷3 to ÷10)", "a decaying schedule (--schedule cosine)"];
        evidence["suggested_clip"] = r.Clip;
        evidence["suggested_lr"] = r.Lr;
        if (r.Epochs is { } epochs) evidence["suggested_epochs"] = epochs;
        return
        [
            $"re-run with {r.Flags}: the gradient norm clipped to {Flag(r.Clip)}, the learning rate ÷3 ({Flag(options!.Lr!.Value)} → {Flag(r.Lr)}), a decaying schedule ({r.Schedule})" +
                (r.Epochs is { } n ? $", {n} epochs (a third of the rate needs about three times the steps)" : ""),
            "if the re-run still spikes, its own doctor report gives the next step (the rate ÷3 again)",
        ];
    }

    /// <summary>Rounds to one significant digit (3.33e-4 → 3e-4, 0.0333 → 0.03).</summary>
    public static double OneDigit(double v)
    {
        var exponent = Math.Floor(Math.Log10(v));
        var digit = Math.Round(v / Math.Pow(10, exponent));
        if (digit >= 10) (digit, exponent) = (1, exponent + 1);
        return double.Parse($"{digit}e{exponent}", CultureInfo.InvariantCulture);
    }

    /// <summary>A number as typed on the command line: 1, 0.03, 3e-4.</summary>
    public static string Flag(double v) =>
        v is >= 1e-2 and < 1e4 ? v.ToString("0.####", CultureInfo.InvariantCulture) : v.ToString("0.###e0", CultureInfo.InvariantCulture);
}
