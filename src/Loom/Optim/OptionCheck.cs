namespace Loom.Optim;

/// <summary>
/// Validates hyper-parameters with messages that name the optimiser (or schedule), the parameter group when there
/// are several, the parameter and the value: <c>adam: beta2 must be in [0, 1), got 1</c>. Strings are built only
/// on failure, so checking every step costs nothing.
/// </summary>
internal readonly struct OptionCheck(string op, int group = -1)
{
    public void NonNegative(double value, string name)
    {
        if (!(value >= 0)) Fail(name, "must be ≥ 0", value);
    }

    public void Positive(double value, string name)
    {
        if (!(value > 0)) Fail(name, "must be > 0", value);
    }

    public void Finite(double value, string name)
    {
        if (!double.IsFinite(value)) Fail(name, "must be finite", value);
    }

    /// <summary>0 ≤ value &lt; 1, as PyTorch requires of Adam's betas.</summary>
    public void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1)) Fail(name, "must be in [0, 1)", value);
    }

    public void AtLeast(int value, int min, string name)
    {
        if (value < min) Fail($"{name} must be ≥ {min}, got {value}");
    }

    // The message is built out of line: the checks run on every step, and an inlined string interpolation made each
    // one ~5 ms of work for the tiered JIT (twice) during the first training steps.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Fail(string name, string rule, double value) => Fail($"{name} {rule}, got {value}");

    public void Fail(string message) => throw new LoomException(group >= 0 ? $"{op}: parameter group {group}: {message}" : $"{op}: {message}");
}
