using System.Buffers;

namespace Loom.Data;

/// <summary>
/// Resizes decoded RGBA8888 pixels into planar float C×H×W in [0, 1] with Pillow's bilinear filter: a triangle
/// of support 1 sampled at pixel centres, widened by the scale factor when shrinking (so it averages, not aliases),
/// the same coefficients as Pillow's <c>Image.resize(size, BILINEAR, box)</c> and torchvision's
/// <c>Resize(antialias=True)</c>. Separable: one horizontal pass from the bytes into a float64 buffer of the
/// source rows the vertical pass needs, then the vertical pass into the destination. Sums are float64, so a
/// solid colour stays exactly that colour.
/// </summary>
internal static class ImageFolderResize
{
    /// <summary>ITU-R 601-2 luma weights, as Pillow's <c>convert("L")</c>.</summary>
    internal const double RedLuma = 0.299, GreenLuma = 0.587, BlueLuma = 0.114;

    /// <summary>For each output index: the first input index, how many follow, and their normalised weights.</summary>
    internal readonly record struct Coefficients(int[] Start, int[] Count, double[] Weights, int KernelSize);

    /// <summary>
    /// Pillow's <c>precompute_coeffs</c> for the bilinear filter: output pixel i covers the source interval
    /// [in0 + i·s, in0 + (i+1)·s), s = (in1 − in0)/outSize; its centre c = in0 + (i + ½)·s; the triangle is
    /// stretched by max(s, 1); taps are source pixels x with |x + ½ − c| below the support, clamped to the image.
    /// </summary>
    internal static Coefficients Compute(int inSize, double in0, double in1, int outSize)
    {
        var scale = (in1 - in0) / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 1.0 * filterScale;
        var kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new double[outSize * kernelSize];
        for (var i = 0; i < outSize; i++)
        {
            var center = in0 + ((i + 0.5) * scale);
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize);
            var n = Math.Min(Math.Max(max - min, 0), kernelSize);
            var w = weights.AsSpan(i * kernelSize, kernelSize);
            double total = 0;
            for (var k = 0; k < n; k++)
            {
                var t = Math.Abs((k + min - center + 0.5) / filterScale);
                w[k] = t < 1.0 ? 1.0 - t : 0.0;
                total += w[k];
            }
            if (total != 0)
            {
                for (var k = 0; k < n; k++) w[k] /= total;
            }
            start[i] = min;
            count[i] = n;
        }
        return new Coefficients(start, count, weights, kernelSize);
    }

    /// <summary>
    /// The source box [x0, x1) × [y0, y1) that <paramref name="mode"/> maps onto the whole output: the whole image
    /// for <see cref="ImageResize.Stretch"/>; for <see cref="ImageResize.CenterCrop"/>, the centred box of the
    /// output's aspect ratio that just fits (the image scaled to cover the output, then cropped).
    /// </summary>
    internal static (double X0, double Y0, double X1, double Y1) SourceBox(int srcWidth, int srcHeight, int outHeight, int outWidth, ImageResize mode)
    {
        if (mode == ImageResize.Stretch) return (0, 0, srcWidth, srcHeight);
        var scale = Math.Max((double)outWidth / srcWidth, (double)outHeight / srcHeight);
        var boxWidth = Math.Min(outWidth / scale, srcWidth);
        var boxHeight = Math.Min(outHeight / scale, srcHeight);
        var x0 = (srcWidth - boxWidth) / 2;
        var y0 = (srcHeight - boxHeight) / 2;
        return (x0, y0, x0 + boxWidth, y0 + boxHeight);
    }

    /// <summary>
    /// Resizes <paramref name="rgba"/> (<paramref name="srcWidth"/>×<paramref name="srcHeight"/> pixels of R, G, B, A
    /// bytes, unpremultiplied; alpha is ignored, as Pillow's <c>convert("RGB")</c> does) into
    /// <paramref name="destination"/>: 3 planes R, G, B, or 1 plane of luma, each outHeight×outWidth, in [0, 1].
    /// </summary>
    internal static void Resize(ReadOnlySpan<byte> rgba, int srcWidth, int srcHeight, Span<float> destination, int channels,
        int outHeight, int outWidth, ImageResize mode)
    {
        var plane = outHeight * outWidth;
        if (channels is not (1 or 3) || destination.Length != channels * plane || rgba.Length < srcWidth * srcHeight * 4)
            throw new LoomException($"image resize: {rgba.Length} bytes of {srcWidth}×{srcHeight} into {destination.Length} values of {channels}×{outHeight}×{outWidth}");
        if (mode == ImageResize.Pad)
        {
            Letterbox(rgba, srcWidth, srcHeight, destination, channels, outHeight, outWidth);
            return;
        }
        var (x0, y0, x1, y1) = SourceBox(srcWidth, srcHeight, outHeight, outWidth, mode);
        var horizontal = Compute(srcWidth, x0, x1, outWidth);
        var vertical = Compute(srcHeight, y0, y1, outHeight);

        // Only the source rows some output row reads.
        var rowFirst = srcHeight;
        var rowEnd = 0;
        for (var i = 0; i < outHeight; i++)
        {
            if (vertical.Count[i] == 0) continue;
            rowFirst = Math.Min(rowFirst, vertical.Start[i]);
            rowEnd = Math.Max(rowEnd, vertical.Start[i] + vertical.Count[i]);
        }
        if (rowEnd <= rowFirst)
        {
            destination.Clear();
            return;
        }
        var rows = rowEnd - rowFirst;
        var tempLength = channels * rows * outWidth;
        var temp = ArrayPool<double>.Shared.Rent(tempLength);
        try
        {
            var t = temp.AsSpan(0, tempLength);
            HorizontalPass(rgba, srcWidth, rowFirst, rows, t, channels, outWidth, horizontal);
            VerticalPass(t, rowFirst, rows, destination, channels, outHeight, outWidth, vertical);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(temp);
        }
    }

    /// <summary>
    /// <see cref="ImageResize.Pad"/>: the image scaled by min(W/w, H/h) to an inner size (at least 1 pixel each way,
    /// rounded), stretched into it with the same filter, then copied centred into a black output (the extra pixel of
    /// an odd border goes to the right and bottom).
    /// </summary>
    private static void Letterbox(ReadOnlySpan<byte> rgba, int srcWidth, int srcHeight, Span<float> destination, int channels, int outHeight, int outWidth)
    {
        var scale = Math.Min((double)outWidth / srcWidth, (double)outHeight / srcHeight);
        var innerWidth = Math.Clamp((int)Math.Round(srcWidth * scale), 1, outWidth);
        var innerHeight = Math.Clamp((int)Math.Round(srcHeight * scale), 1, outHeight);
        var innerPlane = innerHeight * innerWidth;
        var buffer = ArrayPool<float>.Shared.Rent(channels * innerPlane);
        try
        {
            var inner = buffer.AsSpan(0, channels * innerPlane);
            Resize(rgba, srcWidth, srcHeight, inner, channels, innerHeight, innerWidth, ImageResize.Stretch);
            destination.Clear();
            var x0 = (outWidth - innerWidth) / 2;
            var y0 = (outHeight - innerHeight) / 2;
            for (var c = 0; c < channels; c++)
            {
                for (var y = 0; y < innerHeight; y++)
                {
                    inner.Slice((c * innerPlane) + (y * innerWidth), innerWidth)
                        .CopyTo(destination.Slice((c * outHeight * outWidth) + ((y0 + y) * outWidth) + x0, innerWidth));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>temp[c, y − rowFirst, x] = Σₖ w[x, k] · pixel[y, start[x] + k, c] (bytes, 0..255).</summary>
    private static void HorizontalPass(ReadOnlySpan<byte> rgba, int srcWidth, int rowFirst, int rows, Span<double> temp,
        int channels, int outWidth, Coefficients h)
    {
        var planeSize = rows * outWidth;
        for (var r = 0; r < rows; r++)
        {
            var row = rgba.Slice((rowFirst + r) * srcWidth * 4, srcWidth * 4);
            for (var x = 0; x < outWidth; x++)
            {
                var w = h.Weights.AsSpan(x * h.KernelSize, h.Count[x]);
                var px = row[(h.Start[x] * 4)..];
                double red = 0, green = 0, blue = 0;
                for (var k = 0; k < w.Length; k++)
                {
                    red += w[k] * px[k * 4];
                    green += w[k] * px[(k * 4) + 1];
                    blue += w[k] * px[(k * 4) + 2];
                }
                var o = (r * outWidth) + x;
                if (channels == 1)
                {
                    temp[o] = (RedLuma * red) + (GreenLuma * green) + (BlueLuma * blue);
                }
                else
                {
                    temp[o] = red;
                    temp[planeSize + o] = green;
                    temp[(2 * planeSize) + o] = blue;
                }
            }
        }
    }

    /// <summary>destination[c, y, x] = Σₖ w[y, k] · temp[c, start[y] + k − rowFirst, x] / 255.</summary>
    private static void VerticalPass(ReadOnlySpan<double> temp, int rowFirst, int rows, Span<float> destination, int channels,
        int outHeight, int outWidth, Coefficients v)
    {
        var tempPlane = rows * outWidth;
        var outPlane = outHeight * outWidth;
        var buffer = ArrayPool<double>.Shared.Rent(outWidth);
        try
        {
            var sums = buffer.AsSpan(0, outWidth);
            for (var c = 0; c < channels; c++)
            {
                var source = temp.Slice(c * tempPlane, tempPlane);
                var target = destination.Slice(c * outPlane, outPlane);
                for (var y = 0; y < outHeight; y++)
                {
                    var w = v.Weights.AsSpan(y * v.KernelSize, v.Count[y]);
                    var first = v.Start[y] - rowFirst;
                    sums.Clear();
                    for (var k = 0; k < w.Length; k++)
                    {
                        var wk = w[k];
                        var sourceRow = source.Slice((first + k) * outWidth, outWidth);
                        for (var x = 0; x < outWidth; x++) sums[x] += wk * sourceRow[x];
                    }
                    var outRow = target.Slice(y * outWidth, outWidth);
                    for (var x = 0; x < outWidth; x++) outRow[x] = (float)(Math.Clamp(sums[x], 0, 255) / 255.0);
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }
}
