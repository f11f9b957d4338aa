using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Loom.Kernels;

/// <summary>
/// The forward and the weight gradient as implicit GEMMs (float32): the column matrix is never written; the GEMM
/// packs its panels straight from the image (<see cref="GemmImplicit"/>). The forward packs the weight once per call
/// (the explicit path packed it per band and per image) and a large image (one the explicit path cut into bands of
/// rows) is one GEMM writing its output in place; the weight gradient is computed as ∂Wᵀ = cols · Gᵀ (the column
/// matrix's rows fill 14-row slivers, where ∂W's 64 filters fill 4 × 14 + 8) over a whole image at a time instead
/// of a band. Image chunks (<see cref="ChunkImages"/>) and batch parts are the explicit path's, so the forward gives
/// the same bits, and so does the weight gradient of images that fit a chunk.
/// </summary>
public static partial class ConvKernels
{
    /// <summary>
    /// Whether float32 convs take the implicit GEMM (tests switch it off to compare; <c>LOOM_CONV_IMPLICIT=0</c>
    /// switches it off for an A/B measurement).
    /// </summary>
    internal static bool ImplicitGemm { get; set; } = Environment.GetEnvironmentVariable("LOOM_CONV_IMPLICIT") != "0";

    /// <summary>
    /// The implicit path runs each GEMM on one thread, so it is taken only when every thread has images (a batch of
    /// one keeps the explicit GEMM split over threads), and only with more than one output channel per group (one
    /// row is the single-row GEMM kernel's case).
    /// </summary>
    private static bool UseImplicit<T>(ConvPlan plan) =>
        ImplicitGemm && typeof(T) == typeof(float) && GemmImplicit.Available && plan.GroupOutChannels > 1
        && Parts(plan.Batch) == Threads.Count;

    /// <summary><see cref="Correlate{T}"/> (float32) with the column matrix packed straight from the images.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static unsafe void CorrelateImplicit<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> output,
        ConvEpilogue<T>? epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (patch, parts) = (plan.Patch, Parts(plan.Batch));
        var (fg, k, p, f, cg) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.OutChannels, plan.GroupChannels);
        // A large image is one GEMM writing output[n] in place; small ones go side by side, then Scatter (+ bias).
        var chunk = Banded(plan, out _) ? 1 : ChunkImages(plan);
        var packedSize = GemmImplicit.PackedASize(fg, k);
        var packed = ArrayPool<float>.Shared.Rent(plan.Groups * packedSize);
        // Stride 1: the images are copied once into a padded layout whose column-matrix rows are contiguous runs.
        var padded = PaddedLayout && PaddedImages.Applies(patch);
        var offsets = padded ? ArrayPool<int>.Shared.Rent(plan.Groups * k) : null;
        try
        {
            fixed (float* w = MemoryMarshal.Cast<T, float>(weight.Span), pa = packed)
            fixed (int* po = offsets)
            {
                for (var g = 0; g < plan.Groups; g++)
                {
                    GemmImplicit.PackA(w + ((nint)g * fg * k), fg, k, k, pa + ((nint)g * packedSize));
                    if (padded) PaddedImages.Offsets(patch, g * cg, k, po + ((nint)g * k));
                }
            }
            GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
            {
                var (start, end) = Threads.Range(plan.Batch, parts, part);
                var most = Math.Min(chunk, end - start);
                // An epilogue (fused ops; never banded) takes the chunk's block, even a block of one image.
                var wide = chunk == 1 && epilogue is null ? null : ArrayPool<T>.Shared.Rent(f * most * p);
                var pads = padded ? ArrayPool<float>.Shared.Rent((most * PaddedImages.Size(patch)) + PaddedImages.Slack(patch)) : null;
                try
                {
                    fixed (float* x = MemoryMarshal.Cast<T, float>(image.Span), y = MemoryMarshal.Cast<T, float>(output.Span), pa = packed, pw = MemoryMarshal.Cast<T, float>(wide), pp = pads)
                    fixed (int* po = offsets)
                    {
                        for (var n0 = start; n0 < end; n0 += chunk)
                        {
                            var m = Math.Min(chunk, end - n0);
                            var ld = m * p;
                            // chunk = 1: C is output[n] itself (F × P); else the chunk's [F, m·P] block.
                            var c = wide is null ? y + ((nint)n0 * plan.OutputSize) : pw;
                            var images = x + ((nint)n0 * patch.ImageSize);
                            if (padded) PaddedImages.Pad(images, patch, m, pp);
                            for (var g = 0; g < plan.Groups; g++)
                            {
                                var a = pa + ((nint)g * packedSize);
                                var cg0 = c + ((nint)g * fg * ld);
                                if (padded) GemmImplicit.PaddedColumns(a, fg, new PaddedImages(pp, patch, po + ((nint)g * k), k), m, cg0, ld);
                                else GemmImplicit.Columns(a, fg, new ImageColumns(images, patch, g * cg, k), ld, cg0, ld);
                            }
                            if (wide is not null && epilogue is not null) epilogue(wide.AsSpan(0, f * ld), n0, m);
                            else if (wide is not null) Scatter<T>(wide, output.Span, n0, m, f, p, bias.Span);
                            else if (!bias.IsEmpty) AddRows(output.Span.Slice(n0 * plan.OutputSize, plan.OutputSize), bias.Span, p);
                        }
                    }
                }
                finally
                {
                    if (wide is not null) ArrayPool<T>.Shared.Return(wide);
                    if (pads is not null) ArrayPool<float>.Shared.Return(pads);
                }
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            if (offsets is not null) ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>
    /// Whether stride-1 forwards and weight gradients go through <see cref="PaddedImages"/> (tests switch it off to compare;
    /// <c>LOOM_CONV_PADDED=0</c> switches it off for an A/B measurement).
    /// </summary>
    internal static bool PaddedLayout { get; set; } = Environment.GetEnvironmentVariable("LOOM_CONV_PADDED") != "0";

    /// <summary>
    /// Whether ∂Wᵀ = cols · Gᵀ fills the micro-kernel's tiles at least as well as ∂W = G · colsᵀ (the implicit weight
    /// gradient computes the former only): true for W6 (576 × 64: 98 % against 91 %) and SmallCnn; false for few
    /// filters against many weight columns (LeNet's 6 × 25), which keep the explicit path.
    /// </summary>
    private static bool TransposedFillsTiles(ConvPlan plan)
    {
        var (mr, nr) = (GemmImplicit.MR, GemmImplicit.NR);
        var (fg, k) = ((long)plan.GroupOutChannels, (long)plan.WeightColumns);
        long Padded(long n, long unit) => (n + unit - 1) / unit * unit;
        return Padded(k, mr) * Padded(fg, nr) <= Padded(fg, mr) * Padded(k, nr);
    }

    /// <summary>
    /// <see cref="WeightGradient{T}"/> (float32) for the images [start, end) into <paramref name="dw"/> [G, F/G, K]
    /// (overwritten), and the images' ∂y row sums into <paramref name="imageSums"/> when given: ∂Wᵀ [K, F/G] per group
    /// summed over the images, a chunk of images (or one large image) per
    /// GEMM, then transposed. Per part, as the explicit path; the caller adds the parts in order. Stride 1 packs the
    /// column matrix's slivers straight from padded copies of the images (<see cref="PaddedImages"/>, as the forward)
    /// instead of unrolling each sliver's rows first: the same packed numbers, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static unsafe void WeightGradientImplicit<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> output, ConvPlan plan, int start, int end, Span<T> dw,
        T[]? imageSums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var patch = plan.Patch;
        var (fg, k, p, f, cg) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.OutChannels, plan.GroupChannels);
        var chunk = Banded(plan, out _) ? 1 : ChunkImages(plan);
        var most = Math.Min(chunk, end - start);
        var size = f * k;
        var dwT = ArrayPool<T>.Shared.Rent(size);
        var wide = chunk == 1 ? null : ArrayPool<T>.Shared.Rent(f * most * p);
        var padded = PaddedLayout && PaddedImages.Applies(patch);
        var pads = padded ? ArrayPool<float>.Shared.Rent((most * PaddedImages.Size(patch)) + PaddedImages.Slack(patch)) : null;
        var offsets = padded ? ArrayPool<int>.Shared.Rent(plan.Groups * k) : null;
        try
        {
            fixed (float* x = MemoryMarshal.Cast<T, float>(image.Span), y = MemoryMarshal.Cast<T, float>(output.Span), t = MemoryMarshal.Cast<T, float>(dwT), pw = MemoryMarshal.Cast<T, float>(wide), pp = pads)
            fixed (int* po = offsets)
            {
                if (padded)
                {
                    for (var g = 0; g < plan.Groups; g++) PaddedImages.Offsets(patch, g * cg, k, po + ((nint)g * k));
                }
                for (var n0 = start; n0 < end; n0 += chunk)
                {
                    var m = Math.Min(chunk, end - n0);
                    var ld = m * p;
                    // chunk = 1: G is output[n] itself (F × P); else the chunk gathered to [F, m·P].
                    if (wide is not null) Gather<T>(output.Span, n0, m, f, p, wide);
                    var grad = wide is null ? y + ((nint)n0 * plan.OutputSize) : pw;
                    var beta = n0 == start ? 0f : 1f;
                    var images = x + ((nint)n0 * patch.ImageSize);
                    if (padded) PaddedImages.Pad(images, patch, m, pp);
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        var gradG = grad + ((nint)g * fg * ld);
                        var dwG = t + ((nint)g * fg * k);
                        if (padded) GemmImplicit.PaddedColumnsTimesTransposed(new PaddedImages(pp, patch, po + ((nint)g * k), k), m, gradG, ld, fg, beta, dwG, fg);
                        else GemmImplicit.ColumnsTimesTransposed(new ImageColumns(images, patch, g * cg, k), ld, gradG, ld, fg, beta, dwG, fg);
                    }
                    // The bias gradient's row sums while this chunk's ∂y is still in cache.
                    if (imageSums is not null) ImageSums<T>(output.Span, n0, n0 + m, f, p, imageSums);
                }
            }
            TransposeGroups<T>(dwT, plan.Groups, k, fg, dw);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(dwT);
            if (wide is not null) ArrayPool<T>.Shared.Return(wide);
            if (pads is not null) ArrayPool<float>.Shared.Return(pads);
            if (offsets is not null) ArrayPool<int>.Shared.Return(offsets);
        }
    }
}
