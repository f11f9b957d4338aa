namespace Loom.Geometry;

/// <summary>
/// The output-size formulas explained: the formula per axis with the numbers substituted. The <c>symbol</c> parameter
/// is the axis letter the formula uses (<c>H</c>, <c>W</c>, <c>L</c>); <c>axisName</c> names the axis in errors.
/// </summary>
public static partial class ConvGeometry
{
    /// <summary>
    /// <see cref="OutputSize"/> with its derivation: for the seed's 21-row input, kernel 4, stride 4 the derivation
    /// reads <c>H' = floor((21 + 0 + 0 − 1·(4−1) − 1)/4) + 1 = floor(17/4) + 1 = 5</c>. Same errors as <see cref="OutputSize"/>.
    /// </summary>
    public static AxisDerivation ExplainOutputSize(int length, int kernel, int stride = 1, int padLow = 0, int padHigh = 0, int dilation = 1,
        bool ceilMode = false, string op = "conv", string axisName = "length", string symbol = "L")
    {
        var (output, numerator, rounded, dropped) = Compute(length, kernel, stride, padLow, padHigh, dilation, ceilMode, op, axisName);
        var round = ceilMode ? "ceil" : "floor";
        var formula = $"{symbol}' = {round}(({symbol} + p_lo + p_hi − d·(k−1) − 1)/s) + 1";
        var derivation = $"{symbol}' = {round}(({length} + {padLow} + {padHigh} − {dilation}·({kernel}−1) − 1)/{stride}) + 1"
            + $" = {round}({numerator}/{stride}) + 1 = {rounded + 1}";
        string? note = null;
        if (dropped)
        {
            derivation += $" → {output}";
            note = $"the last window would start at ({rounded + 1}−1)·{stride} = {rounded * stride} ≥ {symbol} + p_lo = {(long)length + padLow}, "
                + "in the right padding only, so it is dropped as in PyTorch";
        }
        return new AxisDerivation(symbol, length, kernel, stride, dilation, new AxisPadding(padLow, padHigh), ceilMode, 0, false,
            output, formula, derivation, note);
    }

    /// <summary>
    /// <see cref="PoolOutputSize"/> with its derivation (see <see cref="ExplainOutputSize"/>).
    /// </summary>
    public static AxisDerivation ExplainPoolOutputSize(int length, int kernel, int stride, int padLow = 0, int padHigh = 0, int dilation = 1,
        bool ceilMode = false, string op = "pool", string axisName = "length", string symbol = "L")
    {
        _ = PoolOutputSize(length, kernel, stride, padLow, padHigh, dilation, ceilMode, op, axisName);
        return ExplainOutputSize(length, kernel, stride, padLow, padHigh, dilation, ceilMode, op, axisName, symbol);
    }

    /// <summary>
    /// <see cref="TransposedOutputSize"/> with its derivation, e.g.
    /// <c>H' = (4−1)·2 − 1 − 1 + 1·(3−1) + 1 + 1 = 8</c>. Same errors as <see cref="TransposedOutputSize"/>.
    /// </summary>
    public static AxisDerivation ExplainTransposedOutputSize(int length, int kernel, int stride = 1, int padLow = 0, int padHigh = 0,
        int dilation = 1, int outputPadding = 0, string op = "conv_transpose", string axisName = "length", string symbol = "L")
    {
        var output = TransposedOutputSize(length, kernel, stride, padLow, padHigh, dilation, outputPadding, op, axisName);
        var formula = $"{symbol}' = ({symbol}−1)·s − p_lo − p_hi + d·(k−1) + output_padding + 1";
        var derivation = $"{symbol}' = ({length}−1)·{stride} − {padLow} − {padHigh} + {dilation}·({kernel}−1) + {outputPadding} + 1 = {output}";
        return new AxisDerivation(symbol, length, kernel, stride, dilation, new AxisPadding(padLow, padHigh), false, outputPadding, true,
            output, formula, derivation, null);
    }
}
