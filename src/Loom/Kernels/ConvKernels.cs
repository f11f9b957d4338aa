using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Loom.Kernels;

/// <summary>
/// A batched, grouped 2-D correlation in GEMM terms. The "image" side is unrolled by im2col (<see cref="Patch"/>,
/// all C channels); the "output" side has <see cref="OutChannels"/> channels of outH·outW positions. Group g uses
/// image channels [g·C/G, (g+1)·C/G) and output channels [g·F/G, (g+1)·F/G); the weight is the row-major matrix
/// [F, (C/G)·kH·kW], which is both PyTorch's conv weight [F, C/G, kH, kW] and its transposed-conv weight
/// [C_in, C_out/G, kH, kW] (there the image side is the transposed convolution's output).
/// </summary>
public readonly record struct ConvPlan(int Batch, int Groups, int OutChannels, PatchGeometry Patch)
{
    /// <summary>Image channels per group.</summary>
    public int GroupChannels => Patch.Channels / Groups;

    /// <summary>Output channels per group.</summary>
    public int GroupOutChannels => OutChannels / Groups;

    /// <summary>Columns of the weight matrix: (C/G)·kH·kW, the inner dimension of every GEMM.</summary>
    public int WeightColumns => GroupChannels * Patch.KernelHeight * Patch.KernelWidth;

    /// <summary>Elements of one output item: F·outH·outW.</summary>
    public int OutputSize => OutChannels * Patch.Columns;
}

/// <summary>
/// Consumes one chunk's product block of <see cref="ConvKernels.Correlate{T}"/>: wide [F, m·P] (no bias yet; the callee
/// may overwrite it) for images n0 … n0+m−1, image i's plane f at wide[f·m·P + i·P …]. Runs on the chunk's thread.
/// </summary>
public delegate void ConvEpilogue<T>(Span<T> wide, int n0, int m);

/// <summary>
/// The three GEMM-shaped products of convolution, per group g (K = (C/G)·kH·kW, P = outH·outW):
/// <list type="bullet">
/// <item><see cref="Correlate{T}"/>: Y[n,g] (F/G × P) = W[g] (F/G × K) · cols(X[n])[g] (K × P)  (+ bias).</item>
/// <item><see cref="CorrelateAdjoint{T}"/>: X[n] = col2im(W[g]ᵀ · Y[n,g])  (+ bias per image channel).</item>
/// <item><see cref="WeightGradient{T}"/>: ∂W[g] = Σₙ Y[n,g] · cols(X[n])[g]ᵀ.</item>
/// </list>
/// The batch is split into a fixed number of contiguous parts, one per thread (<see cref="GemmTeam"/>); each part
/// takes its images a chunk at a time and unrolls the whole chunk side by side into one wide column matrix
/// [K, chunk·P], so each product is one GEMM with chunk·P columns instead of one small GEMM per image (a SmallCnn's
/// second conv has P = 196: per image that is 6 full tiles and a 4-column edge tile; per chunk of 9, 55 full tiles).
/// The output side is gathered to / scattered from the same [F, chunk·P] layout. The chunk size depends only on the
/// sizes, the parts only on the thread count, and the weight gradient sums per-part partials in part order, so a
/// given thread count always gives the same bits. Buffers are rented from the pool: no allocation per call.
/// An image whose column matrix alone exceeds <see cref="ChunkBudget"/> is unrolled a band of output rows at a time
/// instead (ConvBands.cs).
/// </summary>
public static partial class ConvKernels
{
    /// <summary>
    /// Elements of the larger of the chunk's column matrix and output-side matrix (2 MiB of float32). Settable for
    /// tests, which shrink it to one image per chunk to check that chunking changes nothing; <c>LOOM_CONV_CHUNK</c>
    /// overrides it for tuning. An image larger than this is unrolled in bands of rows (<see cref="BandBudget"/>).
    /// </summary>
    internal static int ChunkBudget { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("LOOM_CONV_CHUNK"), out var v) && v >= 1 ? v : 1 << 19;

    /// <summary>
    /// output [N, F, P] = W · im2col(image [N, C, H, W]) + bias (bias empty = none). Every output element is written.
    /// With an <paramref name="epilogue"/>, each chunk's product block goes to it instead of to output (fused ops:
    /// conv+ReLU, conv+ReLU+max-pool); only for plans that are not banded (<see cref="ChunksWholeImages"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void Correlate<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> output,
        ConvEpilogue<T>? epilogue = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var banded = Banded(plan, out var rows);
        if (epilogue is not null && banded) throw new InvalidOperationException("internal: a conv epilogue needs whole-image chunks");
        if (UseImplicit<T>(plan))
        {
            CorrelateImplicit(image, weight, bias, plan, output, epilogue);
            return;
        }
        if (banded)
        {
            CorrelateBands(image, weight, bias, plan, output, rows);
            return;
        }
        var (patch, parts, chunk) = (plan.Patch, Parts(plan.Batch), ChunkImages(plan));
        var (fg, k, p, f) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.OutChannels);
        GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var size = Math.Min(chunk, end - start) * p;
            var cols = ArrayPool<T>.Shared.Rent(patch.Rows * size);
            var wide = ArrayPool<T>.Shared.Rent(f * size);
            try
            {
                for (var n0 = start; n0 < end; n0 += chunk)
                {
                    var m = Math.Min(chunk, end - n0);
                    var ld = m * p;
                    for (var i = 0; i < m; i++)
                        Im2Col.Forward(image.Span.Slice((n0 + i) * patch.ImageSize, patch.ImageSize), patch, cols.AsSpan(i * p), ld);
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        Gemm.Run(false, false, fg, ld, k, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                            cols.AsSpan(g * k * ld, k * ld), ld, T.Zero, wide.AsSpan(g * fg * ld, fg * ld), ld);
                    }
                    if (epilogue is null) Scatter<T>(wide, output.Span, n0, m, f, p, bias.Span);
                    else epilogue(wide.AsSpan(0, f * ld), n0, m);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(cols);
                ArrayPool<T>.Shared.Return(wide);
            }
        });
    }

    /// <summary>Whether <see cref="Correlate{T}"/> unrolls whole images in chunks (so it can take an epilogue).</summary>
    public static bool ChunksWholeImages(ConvPlan plan) => !Banded(plan, out _);

    /// <summary>image [N, C, H, W] = col2im(Wᵀ · output [N, F, P]) + bias (bias empty = none). Every image element is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void CorrelateAdjoint<T>(ReadOnlyMemory<T> output, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> image)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var banded = Banded(plan, out var rows);
        if (AdjointAsCorrelation(plan) is { } flipped && (banded || FlippedChunksPay<T>(flipped)))
        {
            CorrelateFlipped(output, weight, bias, plan, flipped, image);
            return;
        }
        if (banded)
        {
            CorrelateAdjointBands(output, weight, bias, plan, image, rows);
            return;
        }
        var (patch, parts, chunk) = (plan.Patch, Parts(plan.Batch), ChunkImages(plan));
        var (fg, k, p, f) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.OutChannels);
        GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var size = Math.Min(chunk, end - start) * p;
            var cols = ArrayPool<T>.Shared.Rent(patch.Rows * size);
            var wide = ArrayPool<T>.Shared.Rent(f * size);
            try
            {
                for (var n0 = start; n0 < end; n0 += chunk)
                {
                    var m = Math.Min(chunk, end - n0);
                    var ld = m * p;
                    Gather<T>(output.Span, n0, m, f, p, wide);
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        Gemm.Run(true, false, k, ld, fg, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                            wide.AsSpan(g * fg * ld, fg * ld), ld, T.Zero, cols.AsSpan(g * k * ld, k * ld), ld);
                    }
                    for (var i = 0; i < m; i++)
                    {
                        var img = image.Span.Slice((n0 + i) * patch.ImageSize, patch.ImageSize);
                        img.Clear();
                        Im2Col.Backward<T>(cols.AsSpan(i * p), patch, img, ld);
                        if (!bias.IsEmpty) AddRows(img, bias.Span, patch.Height * patch.Width);
                    }
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(cols);
                ArrayPool<T>.Shared.Return(wide);
            }
        });
    }

    /// <summary>
    /// weightGrad [F, K] = Σₙ output[n] · im2col(image[n])ᵀ, per group (overwritten). With <paramref name="biasGrad"/>,
    /// also biasGrad[f] = Σₙ Σₚ output[n, f, p] (overwritten): each image's row sums are taken by the thread that
    /// just used that image's ∂y (in cache), then added in image order — the order of
    /// <see cref="ChannelSums{T}(ReadOnlyMemory{T}, int, int, int, Memory{T})"/>, so the same bits, and no second pass
    /// over ∂y from memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void WeightGradient<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> output, ConvPlan plan, Memory<T> weightGrad,
        Memory<T> biasGrad = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (patch, parts, chunk) = (plan.Patch, Parts(plan.Batch), ChunkImages(plan));
        var (fg, k, p, f) = (plan.GroupOutChannels, plan.WeightColumns, plan.Patch.Columns, plan.OutChannels);
        var size = f * k;
        var banded = Banded(plan, out var rows);
        // Fewer weight columns than a GEMM tile is wide (a first conv on one channel: K = 9) wastes most of each
        // 32-column tile: compute ∂Wᵀ [K, F/G] = cols · Gᵀ instead (K rows in one sliver, F/G full columns) and
        // transpose it. Each element is the same sum of the same products in the same order: the same bits.
        var transposed = TransposedWeightGradient && k < Math.Min(fg, 32);
        var implicitGemm = UseImplicit<T>(plan) && TransposedFillsTiles(plan);
        var withBias = !biasGrad.IsEmpty;
        if (plan.Batch == 0)
        {
            weightGrad.Span[..size].Clear();
            if (withBias) biasGrad.Span[..f].Clear();
            return;
        }
        // imageSums[n·F + f] = Σₚ output[n, f, p], written by the part that owns image n.
        var imageSums = withBias ? ArrayPool<T>.Shared.Rent(plan.Batch * f) : null;
        var partials = new T[]?[parts];
        for (var part = 1; part < parts; part++) partials[part] = ArrayPool<T>.Shared.Rent(size);
        try
        {
            GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
            {
                var (start, end) = Threads.Range(plan.Batch, parts, part);
                var dw = part == 0 ? weightGrad.Span[..size] : partials[part].AsSpan(0, size);
                if (implicitGemm)
                {
                    WeightGradientImplicit(image, output, plan, start, end, dw, imageSums);
                    return;
                }
                if (imageSums is not null) ImageSums<T>(output.Span, start, end, f, p, imageSums);
                if (banded)
                {
                    WeightGradientBands(image.Span, output.Span, plan, start, end, dw, rows);
                    return;
                }
                var width = Math.Min(chunk, end - start) * p;
                var cols = ArrayPool<T>.Shared.Rent(patch.Rows * width);
                var wide = ArrayPool<T>.Shared.Rent(f * width);
                var dwT = transposed ? ArrayPool<T>.Shared.Rent(size) : null;
                try
                {
                    for (var n0 = start; n0 < end; n0 += chunk)
                    {
                        var m = Math.Min(chunk, end - n0);
                        var ld = m * p;
                        Gather<T>(output.Span, n0, m, f, p, wide);
                        for (var i = 0; i < m; i++)
                            Im2Col.Forward(image.Span.Slice((n0 + i) * patch.ImageSize, patch.ImageSize), patch, cols.AsSpan(i * p), ld);
                        var beta = n0 == start ? T.Zero : T.One;
                        for (var g = 0; g < plan.Groups; g++)
                        {
                            if (dwT is null)
                            {
                                Gemm.Run(false, true, fg, k, ld, T.One, wide.AsSpan(g * fg * ld, fg * ld), ld,
                                    cols.AsSpan(g * k * ld, k * ld), ld, beta, dw.Slice(g * fg * k, fg * k), k);
                            }
                            else
                            {
                                Gemm.Run(false, true, k, fg, ld, T.One, cols.AsSpan(g * k * ld, k * ld), ld,
                                    wide.AsSpan(g * fg * ld, fg * ld), ld, beta, dwT.AsSpan(g * fg * k, fg * k), fg);
                            }
                        }
                    }
                    if (dwT is not null) TransposeGroups<T>(dwT, plan.Groups, k, fg, dw);
                }
                finally
                {
                    ArrayPool<T>.Shared.Return(cols);
                    ArrayPool<T>.Shared.Return(wide);
                    if (dwT is not null) ArrayPool<T>.Shared.Return(dwT);
                }
            });
            var total = weightGrad.Span[..size];
            for (var part = 1; part < parts; part++)
            {
                var partial = partials[part].AsSpan(0, size);
                for (var i = 0; i < size; i++) total[i] += partial[i];
            }
            if (imageSums is not null)
            {
                var db = biasGrad.Span[..f];
                db.Clear();
                for (var n = 0; n < plan.Batch; n++)
                    for (var c = 0; c < f; c++) db[c] += imageSums[(n * f) + c];
            }
        }
        finally
        {
            for (var part = 1; part < parts; part++) ArrayPool<T>.Shared.Return(partials[part]!);
            if (imageSums is not null) ArrayPool<T>.Shared.Return(imageSums);
        }
    }

    /// <summary>sums[n·F + f] = Σₚ values[n, f, p] for the images [n0, n1) of values [N, F, P].</summary>
    private static void ImageSums<T>(ReadOnlySpan<T> values, int n0, int n1, int f, int p, Span<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var n = n0; n < n1; n++)
            for (var c = 0; c < f; c++) sums[(n * f) + c] = ElementKernels.Sum(values.Slice(((n * f) + c) * p, p));
    }

    /// <summary>
    /// sums[c] = Σₙ Σₚ values[n, c, p] for values [N, C, P] (the bias gradient). The channels are split over the
    /// threads (W6's 25.7 MB ∂y was summed by one thread while the other waited); each channel's sum is taken in the
    /// same order whatever the split, so every thread count gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    public static void ChannelSums<T>(ReadOnlyMemory<T> values, int batch, int channels, int positions, Memory<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var parts = Threads.PartsFor((long)batch * channels * positions, ChannelSumsGrain, Math.Min(channels, Threads.Count));
        if (parts <= 1)
        {
            ChannelSums(values.Span, batch, channels, positions, sums.Span, 0, channels);
            return;
        }
        GemmTeam.For(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part) =>
        {
            var (c0, c1) = Threads.Range(channels, parts, part);
            ChannelSums(values.Span, batch, channels, positions, sums.Span, c0, c1);
        });
    }

    /// <summary>Elements summed per thread at least before <see cref="ChannelSums{T}(ReadOnlyMemory{T}, int, int, int, Memory{T})"/> splits.</summary>
    private const long ChannelSumsGrain = 1 << 16;

    private static void ChannelSums<T>(ReadOnlySpan<T> values, int batch, int channels, int positions, Span<T> sums, int c0, int c1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sums[c0..c1].Clear();
        for (var n = 0; n < batch; n++)
        {
            for (var c = c0; c < c1; c++)
            {
                var row = values.Slice((n * channels + c) * positions, positions);
                sums[c] += ElementKernels.Sum(row);
            }
        }
    }

    /// <summary>Whether small-K weight gradients are computed as ∂Wᵀ (tests switch it off to compare the two).</summary>
    internal static bool TransposedWeightGradient { get; set; } = true;

    /// <summary>dw[g] [F/G, K] ← dwT[g] [K, F/G] for each group g (both groups at offset g·(F/G)·K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void TransposeGroups<T>(ReadOnlySpan<T> dwT, int groups, int k, int fg, Span<T> dw)
    {
        for (var g = 0; g < groups; g++)
        {
            var src = dwT.Slice(g * fg * k, fg * k);
            var dst = dw.Slice(g * fg * k, fg * k);
            for (var j = 0; j < k; j++)
                for (var i = 0; i < fg; i++) dst[i * k + j] = src[j * fg + i];
        }
    }

    private static int Parts(int batch) => Math.Max(1, Math.Min(batch, Threads.Count));

    /// <summary>Images per GEMM: as many as keep the wider of the two chunk matrices within <see cref="ChunkBudget"/>.</summary>
    private static int ChunkImages(ConvPlan plan)
    {
        var perImage = (long)plan.Patch.Columns * Math.Max(plan.Patch.Rows, plan.OutChannels);
        return (int)Math.Clamp(ChunkBudget / Math.Max(1, perImage), 1, Math.Max(1, plan.Batch));
    }

    /// <summary>wide [F, m·P] ← values[n0 .. n0+m) of [N, F, P]: image i's plane f goes to row f, columns i·P …</summary>
    private static void Gather<T>(ReadOnlySpan<T> values, int n0, int m, int f, int p, Span<T> wide)
    {
        var ld = m * p;
        for (var i = 0; i < m; i++)
            for (var c = 0; c < f; c++)
                values.Slice(((n0 + i) * f + c) * p, p).CopyTo(wide.Slice(c * ld + i * p, p));
    }

    /// <summary>values[n0 .. n0+m) of [N, F, P] ← wide [F, m·P] + bias[f] (bias empty = none): the inverse of <see cref="Gather{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // conv path: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void Scatter<T>(ReadOnlySpan<T> wide, Span<T> values, int n0, int m, int f, int p, ReadOnlySpan<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ld = m * p;
        for (var i = 0; i < m; i++)
        {
            for (var c = 0; c < f; c++)
            {
                var src = wide.Slice(c * ld + i * p, p);
                var dst = values.Slice(((n0 + i) * f + c) * p, p);
                if (bias.IsEmpty) src.CopyTo(dst);
                else ElementKernels.AddScalar(src, bias[c], dst);
            }
        }
    }

    private static void AddRows<T>(Span<T> rows, ReadOnlySpan<T> values, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var c = 0; c < values.Length; c++)
        {
            var row = rows.Slice(c * length, length);
            ElementKernels.AddScalar<T>(row, values[c], row);
        }
    }
}
