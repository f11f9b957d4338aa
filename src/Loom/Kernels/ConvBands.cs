using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Loom.Kernels;

/// <summary>
/// The three conv products for images whose column matrix is larger than L2 (W6's 64-channel 56×56 image: 576 ×
/// 3136 floats = 7.2 MB): each image is unrolled a band of output rows at a time into a column matrix that stays in
/// L2 (<see cref="BandBudget"/>), and each band is one GEMM that reads and writes the image-side tensors in place
/// (the band's columns of output[n] with leading dimension P: no gather or scatter). Unrolling the whole image
/// instead wrote 7.2 MB that the GEMM's packing then read back from L3/memory, twice per backward.
/// The band height depends only on the sizes, so a given thread count gives the same bits.
/// </summary>
public static partial class ConvKernels
{
    /// <summary>
    /// Elements of one band's column matrix (or output-side block, the larger): 512 KiB of float32, half of a Zen 4
    /// core's 1 MiB L2, so that the GEMM's packed panels fit next to it. Settable for tests (1 = one row per band);
    /// <c>LOOM_CONV_BAND</c> overrides it for tuning on another CPU.
    /// </summary>
    internal static int BandBudget { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("LOOM_CONV_BAND"), out var v) && v >= 1 ? v : 1 << 17;

    /// <summary>Whether one image is too large for a chunk; if so, the output rows per band.</summary>
    private static bool Banded(ConvPlan plan, out int rows)
    {
        var perImage = (long)plan.Patch.Columns * Math.Max(plan.Patch.Rows, plan.OutChannels);
        var perRow = (long)plan.Patch.OutWidth * Math.Max(plan.Patch.Rows, plan.OutChannels);
        rows = (int)Math.Clamp(BandBudget / Math.Max(1, perRow), 1, Math.Max(1, plan.Patch.OutHeight));
        return perImage > ChunkBudget && plan.Patch.OutHeight > 1;
    }

    /// <summary><see cref="Correlate{T}"/> a band at a time: output[n][:, band] = W · cols(band) (+ bias).</summary>
    private static void CorrelateBands<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> output, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (patch, parts) = (plan.Patch, Parts(plan.Batch));
        var (fg, k, p, outW) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.Patch.OutWidth);
        GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var cols = ArrayPool<T>.Shared.Rent(patch.Rows * rows * outW);
            try
            {
                for (var n = start; n < end; n++)
                {
                    var img = image.Span.Slice(n * patch.ImageSize, patch.ImageSize);
                    var y = output.Span.Slice(n * plan.OutputSize, plan.OutputSize);
                    for (var oh0 = 0; oh0 < patch.OutHeight; oh0 += rows)
                    {
                        var oh1 = Math.Min(patch.OutHeight, oh0 + rows);
                        var (ld, c0) = ((oh1 - oh0) * outW, oh0 * outW);
                        Im2Col.Forward(img, patch, cols, ld, oh0, oh1);
                        for (var g = 0; g < plan.Groups; g++)
                        {
                            Gemm.Run(false, false, fg, ld, k, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                                cols.AsSpan(g * k * ld, k * ld), ld, T.Zero, y[(g * fg * p + c0)..], p);
                        }
                        if (bias.IsEmpty) continue;
                        for (var f = 0; f < plan.OutChannels; f++)
                        {
                            var line = y.Slice(f * p + c0, ld);
                            System.Numerics.Tensors.TensorPrimitives.Add(line, bias.Span[f], line);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(cols);
            }
        });
    }

    /// <summary><see cref="CorrelateAdjoint{T}"/> a band at a time: image[n] += col2im(Wᵀ · output[n][:, band]).</summary>
    private static void CorrelateAdjointBands<T>(ReadOnlyMemory<T> output, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> image, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (patch, parts) = (plan.Patch, Parts(plan.Batch));
        var (fg, k, p, outW) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.Patch.OutWidth);
        GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var cols = ArrayPool<T>.Shared.Rent(patch.Rows * rows * outW);
            try
            {
                for (var n = start; n < end; n++)
                {
                    var img = image.Span.Slice(n * patch.ImageSize, patch.ImageSize);
                    var y = output.Span.Slice(n * plan.OutputSize, plan.OutputSize);
                    img.Clear();
                    for (var oh0 = 0; oh0 < patch.OutHeight; oh0 += rows)
                    {
                        var oh1 = Math.Min(patch.OutHeight, oh0 + rows);
                        var (ld, c0) = ((oh1 - oh0) * outW, oh0 * outW);
                        for (var g = 0; g < plan.Groups; g++)
                        {
                            Gemm.Run(true, false, k, ld, fg, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                                y[(g * fg * p + c0)..], p, T.Zero, cols.AsSpan(g * k * ld, k * ld), ld);
                        }
                        Im2Col.Backward<T>(cols, patch, img, ld, oh0, oh1);
                    }
                    if (!bias.IsEmpty) AddRows(img, bias.Span, patch.Height * patch.Width);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(cols);
            }
        });
    }

    /// <summary>
    /// <see cref="WeightGradient{T}"/> for the images [start, end) a band at a time: dw = Σ output[n][:, band] ·
    /// cols(band)ᵀ, bands in order (each band's product is summed from zero, then added to the running total).
    /// </summary>
    private static void WeightGradientBands<T>(ReadOnlySpan<T> image, ReadOnlySpan<T> output, ConvPlan plan, int start, int end, Span<T> dw, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var patch = plan.Patch;
        var (fg, k, p, outW) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.Patch.OutWidth);
        var cols = ArrayPool<T>.Shared.Rent(patch.Rows * rows * outW);
        try
        {
            for (var n = start; n < end; n++)
            {
                var img = image.Slice(n * patch.ImageSize, patch.ImageSize);
                var y = output.Slice(n * plan.OutputSize, plan.OutputSize);
                for (var oh0 = 0; oh0 < patch.OutHeight; oh0 += rows)
                {
                    var oh1 = Math.Min(patch.OutHeight, oh0 + rows);
                    var (ld, c0) = ((oh1 - oh0) * outW, oh0 * outW);
                    Im2Col.Forward(img, patch, cols, ld, oh0, oh1);
                    var beta = n == start && oh0 == 0 ? T.Zero : T.One;
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        Gemm.Run(false, true, fg, k, ld, T.One, y[(g * fg * p + c0)..], p,
                            cols.AsSpan(g * k * ld, k * ld), ld, beta, dw.Slice(g * fg * k, fg * k), k);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(cols);
        }
    }

    /// <summary>
    /// Whether large stride-1 adjoints run as correlations with the flipped kernel (tests switch it off to compare;
    /// <c>LOOM_CONV_FLIP=0</c> switches it off for an A/B measurement).
    /// </summary>
    internal static bool FlippedAdjoint { get; set; } = Environment.GetEnvironmentVariable("LOOM_CONV_FLIP") != "0";

    /// <summary>
    /// Whether a stride-1 adjoint of images small enough for chunks (SmallCnn's second conv) also runs as the flipped
    /// correlation: when that correlation takes the padded implicit GEMM and its M = C/G fills at least one
    /// micro-kernel sliver. It then reads ∂y once through the padded copy (K = (F/G)·kH·kW per GEMM) instead of a
    /// gather, a GEMM of depth F/G into a column matrix and col2im's scattered adds. Tests switch it off to compare;
    /// <c>LOOM_CONV_FLIP_CHUNKS=0</c> switches it off for an A/B measurement.
    /// </summary>
    internal static bool FlippedChunks { get; set; } = Environment.GetEnvironmentVariable("LOOM_CONV_FLIP_CHUNKS") != "0";

    /// <summary>Whether <see cref="CorrelateAdjoint{T}"/> of a plan small enough for chunks takes the flipped correlation (for tests).</summary>
    internal static bool AdjointTakesFlippedChunks<T>(ConvPlan plan)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        !Banded(plan, out _) && AdjointAsCorrelation(plan) is { } flipped && FlippedChunksPay<T>(flipped);

    private static bool FlippedChunksPay<T>(ConvPlan flipped) =>
        FlippedChunks && UseImplicit<T>(flipped) && PaddedLayout && PaddedImages.Applies(flipped.Patch)
        && flipped.GroupOutChannels >= GemmImplicit.MR;

    /// <summary>
    /// For stride 1, the adjoint is itself a correlation: image[c, u, v] = Σ_f Σ_kh,kw output[f, u − pT' + kh·dH,
    /// v − pL' + kw·dW] · W'[c, f, kh, kw] with the flipped, transposed kernel W'[c, f, kh, kw] = W[f, c, kH−1−kh,
    /// kW−1−kw] and padding pT' = (kH−1)·dH − pT, pL' = (kW−1)·dW − pL (taps outside the output read zero). That runs
    /// through the banded forward (one GEMM per band, no column matrix to add back pixel by pixel) instead of a GEMM
    /// into a column matrix and col2im. Null when the plan does not qualify (stride above 1, or padding beyond the
    /// dilated kernel, which would need negative padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static ConvPlan? AdjointAsCorrelation(ConvPlan plan)
    {
        var g = plan.Patch;
        var (padTop, padLeft) = ((g.KernelHeight - 1) * g.DilationHeight - g.PadTop, (g.KernelWidth - 1) * g.DilationWidth - g.PadLeft);
        if (!FlippedAdjoint || g.StrideHeight != 1 || g.StrideWidth != 1 || padTop < 0 || padLeft < 0) return null;
        var patch = new PatchGeometry(plan.OutChannels, g.OutHeight, g.OutWidth, g.Height, g.Width, g.KernelHeight, g.KernelWidth,
            1, 1, padTop, padLeft, g.DilationHeight, g.DilationWidth);
        return new ConvPlan(plan.Batch, plan.Groups, g.Channels, patch);
    }

    /// <summary>image = Correlate(output, W') (+ bias) with W' the flipped, transposed kernel of <see cref="AdjointAsCorrelation"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void CorrelateFlipped<T>(ReadOnlyMemory<T> output, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, ConvPlan flipped, Memory<T> image)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (fg, cg, kh, kw) = (plan.GroupOutChannels, plan.GroupChannels, plan.Patch.KernelHeight, plan.Patch.KernelWidth);
        var taps = kh * kw;
        var size = plan.OutChannels * cg * taps;
        var buffer = ArrayPool<T>.Shared.Rent(size);
        try
        {
            var w = weight.Span;
            var wt = buffer.AsSpan(0, size);
            for (var grp = 0; grp < plan.Groups; grp++)
            {
                for (var f = 0; f < fg; f++)
                {
                    for (var c = 0; c < cg; c++)
                    {
                        var src = w.Slice((((grp * fg) + f) * cg + c) * taps, taps);
                        var dst = wt.Slice((((grp * cg) + c) * fg + f) * taps, taps);
                        for (var t = 0; t < taps; t++) dst[t] = src[taps - 1 - t]; // (kh, kw) → (kH−1−kh, kW−1−kw)
                    }
                }
            }
            Correlate<T>(output, buffer.AsMemory(0, size), bias, flipped, image);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
    }
}
