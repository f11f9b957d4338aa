using System.Numerics;

namespace Loom;

/// <summary>Slicing and joining: narrow, select, concat, stack, index_select, gather, pad.</summary>
public static partial class Functional
{
    /// <summary>Elements [start, start+length) along an axis (a copy; PyTorch's <c>narrow</c>).  ∂/∂x = g placed back, zeros elsewhere.</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        var a = x.Shape.NormalizeAxis(axis, "narrow");
        var n = x.Shape.Dims[a];
        if (start < 0) start += n;
        if (start < 0 || length < 0 || start + length > n)
            throw new LoomException($"narrow: range [{start}, {start + length}) is outside axis {axis} of size {n} (shape {x.Shape})");
        var outer = x.Shape.Product(0, a);
        var inner = x.Shape.Product(a + 1, x.Rank);
        var dims = x.Shape.ToArray();
        dims[a] = length;
        var y = Tensor.Empty(new Shape(dims), x.DType);
        CopyBlocks(x.Storage, start * inner, n * inner, y.Storage, 0, length * inner, length * inner, outer);
        var from = x.Shape;
        return Autograd.Record(y, "narrow", x, g =>
        {
            var full = Tensor.EmptyZeroed(from, g.DType);
            CopyBlocks(g.Storage, 0, length * inner, full.Storage, start * inner, n * inner, length * inner, outer);
            return full;
        });
    }

    /// <summary>The slice at <paramref name="index"/> along an axis, with that axis removed.</summary>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        var a = x.Shape.NormalizeAxis(axis, "select");
        if (index < 0) index += x.Shape.Dims[a];
        return Squeeze(Narrow(x, a, index, 1), a);
    }

    /// <summary>Joins tensors along an existing axis.  ∂/∂xᵢ = the matching slice of g.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new LoomException("concat: needs at least one tensor");
        var first = tensors[0];
        var a = first.Shape.NormalizeAxis(axis, "concat");
        var total = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            Tensor.RequireSameDType(first, t, "concat");
            if (t.Rank != first.Rank)
                throw new LoomException($"concat: tensor {i} has shape {t.Shape}, rank differs from tensor 0's {first.Shape}");
            for (var d = 0; d < t.Rank; d++)
            {
                if (d != a && t.Shape.Dims[d] != first.Shape.Dims[d])
                    throw new LoomException($"concat: tensor {i} has shape {t.Shape}; all sizes except axis {a} must match tensor 0's {first.Shape}");
            }
            total += t.Shape.Dims[a];
        }
        var outer = first.Shape.Product(0, a);
        var inner = first.Shape.Product(a + 1, first.Rank);
        var dims = first.Shape.ToArray();
        dims[a] = total;
        var y = Tensor.Empty(new Shape(dims), first.DType);
        var offset = 0;
        var offsets = new int[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var len = tensors[i].Shape.Dims[a];
            offsets[i] = offset;
            CopyBlocks(tensors[i].Storage, 0, len * inner, y.Storage, offset * inner, total * inner, len * inner, outer);
            offset += len;
        }
        var inputs = tensors.ToArray();
        return Autograd.Record(y, "concat", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (var i = 0; i < inputs.Length; i++)
                if (inputs[i].RequiresGrad) grads[i] = Narrow(g, a, offsets[i], inputs[i].Shape.Dims[a]);
            return grads;
        });
    }

    /// <summary>Joins same-shaped tensors along a new axis.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new LoomException("stack: needs at least one tensor");
        var shape = tensors[0].Shape;
        for (var i = 1; i < tensors.Count; i++)
            if (tensors[i].Shape != shape) throw new LoomException($"stack: tensor {i} has shape {tensors[i].Shape}, tensor 0 has {shape}; all must match");
        var a = axis < 0 ? axis + shape.Rank + 1 : axis;
        if (a < 0 || a > shape.Rank) throw new LoomException($"stack: axis {axis} is out of range for tensors of rank {shape.Rank}");
        var expanded = new Tensor[tensors.Count];
        for (var i = 0; i < tensors.Count; i++) expanded[i] = Unsqueeze(tensors[i], a);
        return Concat(expanded, a);
    }

    /// <summary>Picks slices along an axis by an int32 index vector (PyTorch's <c>index_select</c>).  ∂/∂x: g scattered and summed back.</summary>
    public static Tensor IndexSelect(Tensor x, int axis, Tensor index)
    {
        if (index.DType != DType.Int32 || index.Rank != 1)
            throw new LoomException($"index_select: index must be a 1-D int32 tensor, found {index.DType.TorchName()} {index.Shape}");
        var a = x.Shape.NormalizeAxis(axis, "index_select");
        var n = x.Shape.Dims[a];
        var idx = index.ToIntArray();
        for (var i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= n) throw new LoomException($"index_select: index {idx[i]} at position {i} is out of range for axis {axis} of size {n}");
        var outer = x.Shape.Product(0, a);
        var inner = x.Shape.Product(a + 1, x.Rank);
        var dims = x.Shape.ToArray();
        dims[a] = idx.Length;
        var y = Tensor.Empty(new Shape(dims), x.DType);
        for (var o = 0; o < outer; o++)
            for (var i = 0; i < idx.Length; i++)
                System.Array.Copy(x.Storage, (o * n + idx[i]) * inner, y.Storage, (o * idx.Length + i) * inner, inner);
        var from = x.Shape;
        return Autograd.Record(y, "index_select", x, g =>
        {
            var full = Tensor.EmptyZeroed(from, g.DType);
            if (g.DType == DType.Float32) ScatterAddRows<float>(g.Span<float>(), full.Span<float>(), idx, outer, n, inner);
            else ScatterAddRows<double>(g.Span<double>(), full.Span<double>(), idx, outer, n, inner);
            return full;
        });
    }

    private static void ScatterAddRows<T>(ReadOnlySpan<T> g, Span<T> full, int[] idx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < idx.Length; i++)
            {
                var dst = full.Slice((o * n + idx[i]) * inner, inner);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, g.Slice((o * idx.Length + i) * inner, inner), dst);
            }
        }
    }

    /// <summary>
    /// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (and likewise for any axis): PyTorch's <c>gather</c>.
    /// index has x's rank; its sizes may be smaller than x's off the axis.  ∂/∂x: g scatter-added at the indices.
    /// </summary>
    public static Tensor Gather(Tensor x, int axis, Tensor index)
    {
        if (index.DType != DType.Int32)
            throw new LoomException($"gather: index must be int32, found {index.DType.TorchName()}");
        if (index.Rank != x.Rank)
            throw new LoomException($"gather: index {index.Shape} must have the rank of the input {x.Shape}");
        var a = x.Shape.NormalizeAxis(axis, "gather");
        for (var d = 0; d < x.Rank; d++)
        {
            if (d != a && index.Shape.Dims[d] > x.Shape.Dims[d])
                throw new LoomException($"gather: index {index.Shape} is larger than input {x.Shape} on axis {d}");
        }
        var positions = GatherPositions(x.Shape, index, a);
        var y = Tensor.Empty(index.Shape, x.DType);
        for (var i = 0; i < positions.Length; i++) y.SetFlat(i, x.GetFlat(positions[i]));
        var from = x.Shape;
        return Autograd.Record(y, "gather", x, g =>
        {
            var full = Tensor.EmptyZeroed(from, g.DType);
            for (var i = 0; i < positions.Length; i++) full.SetFlat(positions[i], full.GetFlat(positions[i]) + g.GetFlat(i));
            return full;
        });
    }

    private static int[] GatherPositions(Shape xShape, Tensor index, int axis)
    {
        var idx = index.Span<int>();
        var positions = new int[idx.Length];
        var xStrides = xShape.Strides();
        var iDims = index.Shape.Dims;
        Span<int> counter = stackalloc int[iDims.Length];
        counter.Clear();
        for (var flat = 0; flat < idx.Length; flat++)
        {
            var pos = 0;
            for (var d = 0; d < iDims.Length; d++)
            {
                var c = d == axis ? idx[flat] : counter[d];
                if (d == axis && (c < 0 || c >= xShape.Dims[axis]))
                    throw new LoomException($"gather: index {c} is out of range for axis {axis} of size {xShape.Dims[axis]}");
                pos += c * xStrides[d];
            }
            positions[flat] = pos;
            for (var d = iDims.Length - 1; d >= 0; d--)
            {
                if (++counter[d] < iDims[d]) break;
                counter[d] = 0;
            }
        }
        return positions;
    }

    /// <summary>
    /// Constant padding as PyTorch's <c>F.pad</c>: <paramref name="pad"/> lists (before, after) pairs starting from the
    /// LAST axis. Negative values crop.  ∂/∂x = the un-padded window of g.
    /// </summary>
    public static Tensor Pad(Tensor x, int[] pad, double value = 0)
    {
        if (pad.Length % 2 != 0 || pad.Length / 2 > x.Rank)
            throw new LoomException($"pad: expected (before, after) pairs for at most {x.Rank} axes, found {pad.Length} values");
        var before = new int[x.Rank];
        var dims = x.Shape.ToArray();
        for (var p = 0; p < pad.Length / 2; p++)
        {
            var ax = x.Rank - 1 - p;
            before[ax] = pad[2 * p];
            dims[ax] += pad[2 * p] + pad[2 * p + 1];
            if (dims[ax] < 0) throw new LoomException($"pad: axis {ax} of size {x.Shape.Dims[ax]} padded by {pad[2 * p]},{pad[2 * p + 1]} would be negative");
        }
        var y = Tensor.Full(new Shape(dims), value, x.DType);
        CopyWindow(x, y, before, intoLarger: true);
        var from = x.Shape;
        return Autograd.Record(y, "pad", x, g =>
        {
            var gx = Tensor.EmptyZeroed(from, g.DType);
            CopyWindow(gx, g, before, intoLarger: false);
            return gx;
        });
    }

    /// <summary>Copies between a tensor and the window of another that starts at <paramref name="offset"/> (clipped at both edges).</summary>
    private static void CopyWindow(Tensor small, Tensor large, int[] offset, bool intoLarger)
    {
        var rank = small.Rank;
        if (small.Numel == 0 || large.Numel == 0) return;
        var sStr = small.Shape.Strides();
        var lStr = large.Shape.Strides();
        var counter = new int[rank];
        for (var flat = 0; flat < small.Numel; flat++)
        {
            var li = 0;
            var inside = true;
            for (var d = 0; d < rank; d++)
            {
                var c = counter[d] + offset[d];
                if (c < 0 || c >= large.Shape.Dims[d]) { inside = false; break; }
                li += c * lStr[d];
            }
            if (inside)
            {
                var si = 0;
                for (var d = 0; d < rank; d++) si += counter[d] * sStr[d];
                if (intoLarger) large.SetFlat(li, small.GetFlat(si));
                else small.SetFlat(si, large.GetFlat(li));
            }
            for (var d = rank - 1; d >= 0; d--)
            {
                if (++counter[d] < small.Shape.Dims[d]) break;
                counter[d] = 0;
            }
        }
    }

    /// <summary>Copies <paramref name="outer"/> blocks of <paramref name="block"/> elements between strided positions.</summary>
    private static void CopyBlocks(Array src, int srcStart, int srcStride, Array dst, int dstStart, int dstStride, int block, int outer)
    {
        for (var o = 0; o < outer; o++)
            System.Array.Copy(src, srcStart + o * srcStride, dst, dstStart + o * dstStride, block);
    }
}
