using System.Numerics;
using System.Runtime.CompilerServices;
using Loom.Kernels;

namespace Loom;

/// <summary>Matrix products: 2-D, batched with broadcast batch axes, and the 1-D cases of <c>torch.matmul</c>.</summary>
public static partial class Functional
{
    /// <summary>
    /// torch.matmul semantics: 1-D·1-D is a dot product, 1-D operands get a unit axis that is removed afterwards,
    /// leading (batch) axes broadcast.  For Y = A·B: ∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G (batch axes summed where broadcast).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        Tensor.RequireFloat(a, "matmul");
        Tensor.RequireFloat(b, "matmul");
        Tensor.RequireSameDType(a, b, "matmul");
        if (a.Rank == 0 || b.Rank == 0)
            throw new LoomException($"matmul: both operands need at least one axis, found {a.Shape} @ {b.Shape}");
        if (a.Rank == 2 && b.Rank == 2) return MatMul2D(a, b);
        var a2 = a.Rank == 1 ? Unsqueeze(a, 0) : a;
        var b2 = b.Rank == 1 ? Unsqueeze(b, 1) : b;
        var y = BatchedMatMul(a2, b2, a.Shape, b.Shape);
        if (a.Rank == 1) y = Squeeze(y, -2);
        if (b.Rank == 1) y = Squeeze(y, -1);
        return y;
    }

    /// <summary>
    /// The common 2-D case without the batch-axis bookkeeping (W7 of the bench: a 64×64 product spends a quarter of
    /// its time there otherwise). The same GEMM calls as the batched path, so the results are the same bits.
    /// </summary>
    private static Tensor MatMul2D(Tensor a, Tensor b)
    {
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        if (b.Shape[0] != k)
            throw new LoomException($"matmul: {a.Shape} @ {b.Shape}: inner sizes {k} and {b.Shape[0]} differ");
        var y = Tensor.Empty(new Shape(m, n), a.DType);
        if (a.DType == DType.Float32) RunBatches<float>(a, b, y, 1, m, n, k, false, false);
        else RunBatches<double>(a, b, y, 1, m, n, k, false, false);
        return Autograd.Needs(a, b) ? RecordMatMul2D(y, a, b) : y;
    }

    private static Tensor RecordMatMul2D(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "matmul", [a, b], g =>
        {
            int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
            {
                ga = Tensor.Empty(a.Shape, a.DType);
                if (a.DType == DType.Float32) RunBatches<float>(g, b, ga, 1, m, k, n, false, true);
                else RunBatches<double>(g, b, ga, 1, m, k, n, false, true);
            }
            if (b.RequiresGrad)
            {
                gb = Tensor.Empty(b.Shape, b.DType);
                if (a.DType == DType.Float32) RunBatches<float>(a, g, gb, 1, k, n, m, true, false);
                else RunBatches<double>(a, g, gb, 1, k, n, m, true, false);
            }
            return [ga, gb];
        });

    private static Tensor BatchedMatMul(Tensor a, Tensor b, Shape origA, Shape origB)
    {
        var m = a.Shape[-2];
        var k = a.Shape[-1];
        var n = b.Shape[-1];
        if (b.Shape[-2] != k)
            throw new LoomException($"matmul: {origA} @ {origB}: inner sizes {k} and {b.Shape[-2]} differ");
        var batchA = new Shape(a.Shape.Dims[..^2]);
        var batchB = new Shape(b.Shape.Dims[..^2]);
        var batch = batchA == batchB ? batchA : Shape.Broadcast(batchA, batchB, "matmul (batch axes)");
        var outDims = batch.ToArray().Concat(new[] { m, n }).ToArray();
        var y = Tensor.Empty(new Shape(outDims), a.DType);
        var count = batch.Numel;
        var ae = batch == batchA ? a : ExpandBatch(a, batch);
        var be = batch == batchB ? b : ExpandBatch(b, batch);
        if (a.DType == DType.Float32) RunBatches<float>(ae, be, y, count, m, n, k, false, false);
        else RunBatches<double>(ae, be, y, count, m, n, k, false, false);

        return Autograd.Record(y, "matmul", [a, b], g =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
            {
                var full = Tensor.Empty(new Shape(batch.ToArray().Concat(new[] { m, k }).ToArray()), a.DType);
                if (a.DType == DType.Float32) RunBatches<float>(g, be, full, count, m, k, n, false, true);
                else RunBatches<double>(g, be, full, count, m, k, n, false, true);
                ga = SumTo(full, a.Shape);
            }
            if (b.RequiresGrad)
            {
                var full = Tensor.Empty(new Shape(batch.ToArray().Concat(new[] { k, n }).ToArray()), b.DType);
                if (a.DType == DType.Float32) RunBatches<float>(ae, g, full, count, k, n, m, true, false);
                else RunBatches<double>(ae, g, full, count, k, n, m, true, false);
                gb = SumTo(full, b.Shape);
            }
            return [ga, gb];
        });
    }

    private static Tensor ExpandBatch(Tensor x, Shape batch)
    {
        using var _ = Autograd.NoGrad();
        return Expand(x, new Shape(batch.ToArray().Concat(x.Shape.Dims[^2..].ToArray()).ToArray()));
    }

    /// <summary>For each batch item: C[m,n] = op(A)·op(B), where op(A) is m×k and op(B) is k×n.</summary>
    private static void RunBatches<T>(Tensor a, Tensor b, Tensor c, int count, int m, int n, int k, bool transA, bool transB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sa = m * k;
        var sb = k * n;
        var sc = m * n;
        var lda = transA ? m : k;
        var ldb = transB ? k : n;
        var av = a.Span<T>();
        var bv = b.Span<T>();
        var cv = c.Span<T>();
        for (var i = 0; i < count; i++)
        {
            Gemm.Run(transA, transB, m, n, k, T.One, av.Slice(i * sa, sa), lda, bv.Slice(i * sb, sb), ldb, T.Zero, cv.Slice(i * sc, sc), n);
        }
    }

    /// <summary>
    /// y = x·Wᵀ + b with W of shape [out, in] (PyTorch's <c>F.linear</c>), without materialising Wᵀ.
    /// ∂/∂x = G·W, ∂/∂W = Gᵀ·x (leading axes flattened), ∂/∂b = Σ G.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        Tensor.RequireFloat(x, "linear");
        Tensor.RequireSameDType(x, weight, "linear");
        if (weight.Rank != 2)
            throw new LoomException($"linear: weight must be [out_features, in_features], found {weight.Shape}");
        var inF = weight.Shape[1];
        var outF = weight.Shape[0];
        if (x.Rank == 0 || x.Shape[-1] != inF)
            throw new LoomException($"linear: input {x.Shape} has {(x.Rank == 0 ? 0 : x.Shape[-1])} features in its last axis, weight {weight.Shape} expects {inF}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new LoomException($"linear: bias must be [{outF}], found {bias.Shape}");
        var rows = x.Numel / inF;
        var outDims = x.Shape.ToArray();
        outDims[^1] = outF;
        var y = Tensor.Empty(new Shape(outDims), x.DType);
        if (x.DType == DType.Float32) LinearForward<float>(x, weight, bias, y, rows, inF, outF);
        else LinearForward<double>(x, weight, bias, y, rows, inF, outF);

        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, "linear", inputs, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) =>
        {
            Tensor? gx = null, gw = null, gb = null;
            if (x.RequiresGrad)
            {
                gx = x.EmptyLike();
                if (x.DType == DType.Float32) Gemm.Run(false, false, rows, inF, outF, 1f, g.Span<float>(), outF, weight.Span<float>(), inF, 0f, gx.Span<float>(), inF);
                else Gemm.Run(false, false, rows, inF, outF, 1.0, g.Span<double>(), outF, weight.Span<double>(), inF, 0.0, gx.Span<double>(), inF);
            }
            if (weight.RequiresGrad)
            {
                gw = weight.EmptyLike();
                if (x.DType == DType.Float32) Gemm.Run(true, false, outF, inF, rows, 1f, g.Span<float>(), outF, x.Span<float>(), inF, 0f, gw.Span<float>(), inF);
                else Gemm.Run(true, false, outF, inF, rows, 1.0, g.Span<double>(), outF, x.Span<double>(), inF, 0.0, gw.Span<double>(), inF);
            }
            if (bias is not null && bias.RequiresGrad) gb = SumTo(g, bias.Shape);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void LinearForward<T>(Tensor x, Tensor w, Tensor? bias, Tensor y, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ys = y.Span<T>();
        var beta = T.Zero;
        if (bias is not null)
        {
            var bs = bias.Span<T>();
            for (var r = 0; r < rows; r++) bs.CopyTo(ys.Slice(r * outF, outF));
            beta = T.One;
        }
        Gemm.Run(false, true, rows, outF, inF, T.One, x.Span<T>(), inF, w.Span<T>(), inF, beta, ys, outF);
    }
}
