namespace Loom.Geometry;

/// <summary>
/// How one spatial axis of a convolution, pooling or transposed convolution gets its output size: the inputs, the
/// result, the formula in symbols and the same formula with the numbers substituted.
/// </summary>
/// <param name="Axis">The axis symbol used in the formula, e.g. <c>H</c>, <c>W</c> or <c>L</c>.</param>
/// <param name="Input">The input size along the axis.</param>
/// <param name="Kernel">The kernel size k.</param>
/// <param name="Stride">The stride s.</param>
/// <param name="Dilation">The dilation d.</param>
/// <param name="Padding">The padding before (low) and after (high) the input.</param>
/// <param name="CeilMode">Whether the division rounds up (pooling's ceil_mode).</param>
/// <param name="OutputPadding">The output padding of a transposed convolution (0 otherwise).</param>
/// <param name="Transposed">Whether this is a transposed convolution.</param>
/// <param name="Output">The output size along the axis.</param>
/// <param name="Formula">The formula in symbols, e.g. <c>H' = floor((H + p_lo + p_hi − d·(k−1) − 1)/s) + 1</c>.</param>
/// <param name="Derivation">
/// The formula with the numbers substituted, e.g. <c>H' = floor((21 + 0 + 0 − 1·(4−1) − 1)/4) + 1 = floor(17/4) + 1 = 5</c>.
/// </param>
/// <param name="Note">A remark on the result (PyTorch's ceil-mode rule dropping the last window), or null.</param>
public sealed record AxisDerivation(
    string Axis,
    int Input,
    int Kernel,
    int Stride,
    int Dilation,
    AxisPadding Padding,
    bool CeilMode,
    int OutputPadding,
    bool Transposed,
    int Output,
    string Formula,
    string Derivation,
    string? Note)
{
    /// <summary>The extent of the dilated kernel, d·(k − 1) + 1: the receptive field of one output along this axis.</summary>
    public long KernelSpan => (long)Dilation * (Kernel - 1) + 1;

    /// <inheritdoc/>
    public override string ToString() => Note is null ? Derivation : $"{Derivation} ({Note})";
}
