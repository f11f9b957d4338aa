using System.Buffers;
using System.Numerics;

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
/// The three GEMM-shaped products of convolution, per batch item n and group g (K = (C/G)·kH·kW, P = outH·outW):
/// <list type="bullet">
/// <item><see cref="Correlate{T}"/>: Y[n,g] (F/G × P) = W[g] (F/G × K) · cols(X[n])[g] (K × P)  (+ bias).</item>
/// <item><see cref="CorrelateAdjoint{T}"/>: X[n] = col2im(W[g]ᵀ · Y[n,g])  (+ bias per image channel).</item>
/// <item><see cref="WeightGradient{T}"/>: ∂W[g] = Σₙ Y[n,g] · cols(X[n])[g]ᵀ.</item>
/// </list>
/// The batch is split into a fixed number of contiguous parts run in parallel; each part rents its own column buffer
/// from the pool. The weight gradient sums per-part partials in part order, so a given thread count always gives the
/// same bits.
/// </summary>
public static class ConvKernels
{
    /// <summary>output [N, F, P] = W · im2col(image [N, C, H, W]) + bias (bias empty = none). Every output element is written.</summary>
    public static void Correlate<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var patch = plan.Patch;
        var parts = Parts(plan.Batch);
        Threads.For(parts, part =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var buffer = patch.IsIdentity ? null : ArrayPool<T>.Shared.Rent(patch.Rows * patch.Columns);
            try
            {
                for (var n = start; n < end; n++)
                {
                    var img = image.Span.Slice(n * patch.ImageSize, patch.ImageSize);
                    ReadOnlySpan<T> cols = img;
                    if (buffer is not null)
                    {
                        Im2Col.Forward(img, patch, buffer);
                        cols = buffer.AsSpan(0, patch.Rows * patch.Columns);
                    }
                    var y = output.Span.Slice(n * plan.OutputSize, plan.OutputSize);
                    var beta = T.Zero;
                    if (!bias.IsEmpty)
                    {
                        FillRows(y, bias.Span, patch.Columns);
                        beta = T.One;
                    }
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        var (fg, k, p) = (plan.GroupOutChannels, plan.WeightColumns, patch.Columns);
                        Gemm.Run(false, false, fg, p, k, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                            cols.Slice(g * k * p, k * p), p, beta, y.Slice(g * fg * p, fg * p), p);
                    }
                }
            }
            finally
            {
                if (buffer is not null) ArrayPool<T>.Shared.Return(buffer);
            }
        });
    }

    /// <summary>image [N, C, H, W] = col2im(Wᵀ · output [N, F, P]) + bias (bias empty = none). Every image element is written.</summary>
    public static void CorrelateAdjoint<T>(ReadOnlyMemory<T> output, ReadOnlyMemory<T> weight, ReadOnlyMemory<T> bias, ConvPlan plan, Memory<T> image)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var patch = plan.Patch;
        var parts = Parts(plan.Batch);
        Threads.For(parts, part =>
        {
            var (start, end) = Threads.Range(plan.Batch, parts, part);
            var buffer = patch.IsIdentity ? null : ArrayPool<T>.Shared.Rent(patch.Rows * patch.Columns);
            try
            {
                for (var n = start; n < end; n++)
                {
                    var img = image.Span.Slice(n * patch.ImageSize, patch.ImageSize);
                    var y = output.Span.Slice(n * plan.OutputSize, plan.OutputSize);
                    // With an identity patch the column matrix is the image itself: the GEMM writes it directly.
                    var cols = buffer is null ? img : buffer.AsSpan(0, patch.Rows * patch.Columns);
                    for (var g = 0; g < plan.Groups; g++)
                    {
                        var (fg, k, p) = (plan.GroupOutChannels, plan.WeightColumns, patch.Columns);
                        Gemm.Run(true, false, k, p, fg, T.One, weight.Span.Slice(g * fg * k, fg * k), k,
                            y.Slice(g * fg * p, fg * p), p, T.Zero, cols.Slice(g * k * p, k * p), p);
                    }
                    if (buffer is not null)
                    {
                        img.Clear();
                        Im2Col.Backward<T>(cols, patch, img);
                    }
                    if (!bias.IsEmpty) AddRows(img, bias.Span, patch.Height * patch.Width);
                }
            }
            finally
            {
                if (buffer is not null) ArrayPool<T>.Shared.Return(buffer);
            }
        });
    }

    /// <summary>weightGrad [F, K] = Σₙ output[n] · im2col(image[n])ᵀ, per group (overwritten).</summary>
    public static void WeightGradient<T>(ReadOnlyMemory<T> image, ReadOnlyMemory<T> output, ConvPlan plan, Memory<T> weightGrad)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var patch = plan.Patch;
        var size = plan.OutChannels * plan.WeightColumns;
        if (plan.Batch == 0)
        {
            weightGrad.Span[..size].Clear();
            return;
        }
        var parts = Parts(plan.Batch);
        var partials = new T[]?[parts];
        for (var part = 1; part < parts; part++) partials[part] = ArrayPool<T>.Shared.Rent(size);
        try
        {
            Threads.For(parts, part =>
            {
                var (start, end) = Threads.Range(plan.Batch, parts, part);
                var dw = part == 0 ? weightGrad.Span[..size] : partials[part].AsSpan(0, size);
                var buffer = patch.IsIdentity ? null : ArrayPool<T>.Shared.Rent(patch.Rows * patch.Columns);
                try
                {
                    for (var n = start; n < end; n++)
                    {
                        var img = image.Span.Slice(n * patch.ImageSize, patch.ImageSize);
                        ReadOnlySpan<T> cols = img;
                        if (buffer is not null)
                        {
                            Im2Col.Forward(img, patch, buffer);
                            cols = buffer.AsSpan(0, patch.Rows * patch.Columns);
                        }
                        var y = output.Span.Slice(n * plan.OutputSize, plan.OutputSize);
                        var beta = n == start ? T.Zero : T.One;
                        for (var g = 0; g < plan.Groups; g++)
                        {
                            var (fg, k, p) = (plan.GroupOutChannels, plan.WeightColumns, patch.Columns);
                            Gemm.Run(false, true, fg, k, p, T.One, y.Slice(g * fg * p, fg * p), p,
                                cols.Slice(g * k * p, k * p), p, beta, dw.Slice(g * fg * k, fg * k), k);
                        }
                    }
                }
                finally
                {
                    if (buffer is not null) ArrayPool<T>.Shared.Return(buffer);
                }
            });
            var total = weightGrad.Span[..size];
            for (var part = 1; part < parts; part++)
            {
                var partial = partials[part].AsSpan(0, size);
                for (var i = 0; i < size; i++) total[i] += partial[i];
            }
        }
        finally
        {
            for (var part = 1; part < parts; part++) ArrayPool<T>.Shared.Return(partials[part]!);
        }
    }

    /// <summary>sums[c] = Σₙ Σₚ values[n, c, p] for values [N, C, P] (the bias gradient).</summary>
    public static void ChannelSums<T>(ReadOnlySpan<T> values, int batch, int channels, int positions, Span<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sums[..channels].Clear();
        for (var n = 0; n < batch; n++)
        {
            for (var c = 0; c < channels; c++)
            {
                var row = values.Slice((n * channels + c) * positions, positions);
                var s = T.Zero;
                foreach (var v in row) s += v;
                sums[c] += s;
            }
        }
    }

    private static int Parts(int batch) => Math.Max(1, Math.Min(batch, Threads.Count));

    private static void FillRows<T>(Span<T> rows, ReadOnlySpan<T> values, int length)
    {
        for (var c = 0; c < values.Length; c++) rows.Slice(c * length, length).Fill(values[c]);
    }

    private static void AddRows<T>(Span<T> rows, ReadOnlySpan<T> values, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var c = 0; c < values.Length; c++)
        {
            var v = values[c];
            foreach (ref var e in rows.Slice(c * length, length)) e += v;
        }
    }
}
