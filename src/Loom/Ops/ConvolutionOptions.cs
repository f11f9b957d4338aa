namespace Loom;

/// <summary>
/// Settings of <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions)"/> with PyTorch's defaults:
/// stride 1, no padding, dilation 1, one group. Padding is per side, in the order top, bottom, left, right.
/// </summary>
/// <example><code>var y = Functional.Conv2d(x, w, b, new Conv2dOptions { Stride = (2, 2), Padding = (0, 1, 2, 0) });</code></example>
public sealed record Conv2dOptions
{
    /// <summary>Step between window positions (sH, sW).</summary>
    public (int H, int W) Stride { get; init; } = (1, 1);

    /// <summary>Implicit zeros added on each side (top, bottom, left, right).</summary>
    public (int Top, int Bottom, int Left, int Right) Padding { get; init; }

    /// <summary>Spacing between kernel taps (dH, dW).</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Number of channel groups; in and out channels must both be divisible by it.</summary>
    public int Groups { get; init; } = 1;
}

/// <summary>
/// Settings of <see cref="Functional.Conv1d(Tensor, Tensor, Tensor?, Conv1dOptions)"/>: stride 1, no padding,
/// dilation 1, one group by default. Padding is per side (left, right).
/// </summary>
public sealed record Conv1dOptions
{
    /// <summary>Step between window positions.</summary>
    public int Stride { get; init; } = 1;

    /// <summary>Implicit zeros added on each side (left, right).</summary>
    public (int Left, int Right) Padding { get; init; }

    /// <summary>Spacing between kernel taps.</summary>
    public int Dilation { get; init; } = 1;

    /// <summary>Number of channel groups.</summary>
    public int Groups { get; init; } = 1;
}

/// <summary>
/// Settings of <see cref="Functional.ConvTranspose2d(Tensor, Tensor, Tensor?, ConvTranspose2dOptions)"/>. Padding is
/// per side (top, bottom, left, right) and removes rows/columns from the full output; output_padding adds rows/columns
/// at the bottom/right (it must be smaller than the stride or the dilation of its axis).
/// </summary>
public sealed record ConvTranspose2dOptions
{
    /// <summary>Stride of the convolution this op is the adjoint of (sH, sW).</summary>
    public (int H, int W) Stride { get; init; } = (1, 1);

    /// <summary>Rows/columns cropped from each side of the full output (top, bottom, left, right).</summary>
    public (int Top, int Bottom, int Left, int Right) Padding { get; init; }

    /// <summary>Extra rows/columns added at the bottom/right of the output.</summary>
    public (int H, int W) OutputPadding { get; init; }

    /// <summary>Spacing between kernel taps (dH, dW).</summary>
    public (int H, int W) Dilation { get; init; } = (1, 1);

    /// <summary>Number of channel groups.</summary>
    public int Groups { get; init; } = 1;
}
