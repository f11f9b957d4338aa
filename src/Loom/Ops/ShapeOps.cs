using System.Numerics;
using System.Runtime.CompilerServices;

namespace Loom;

/// <summary>Movement ops: reshape (a free view), expand, permute/transpose, squeeze/unsqueeze, flatten.</summary>
public static partial class Functional
{
    /// <summary>The same data seen with another shape (one size may be −1 and is inferred). Shares storage.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => Reshape(x, InferShape(x, shape));

    /// <summary>The same data seen with another shape. Shares storage.  ∂/∂x = reshape(g, x.shape).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Reshape(Tensor x, Shape shape)
    {
        if (shape == x.Shape) return x;
        if (shape.Numel != x.Numel)
            throw new LoomException($"reshape: cannot view {x.Shape} ({x.Numel} elements) as {shape} ({shape.Numel} elements)");
        var y = Tensor.WrapStorage(x, shape);
        var from = x.Shape;
        return Autograd.Record(y, "reshape", x, g => Reshape(g, from));
    }

    private static Shape InferShape(Tensor x, int[] shape)
    {
        var inferred = -1;
        var known = 1L;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (inferred >= 0) throw new LoomException($"reshape: only one size may be -1 in [{string.Join(", ", shape)}]");
                inferred = i;
            }
            else if (shape[i] < 0)
            {
                throw new LoomException($"reshape: size {shape[i]} in [{string.Join(", ", shape)}] is negative");
            }
            else known *= shape[i];
        }
        if (inferred < 0) return new Shape(shape);
        if (known == 0 || x.Numel % known != 0)
            throw new LoomException($"reshape: cannot view {x.Shape} ({x.Numel} elements) as [{string.Join(", ", shape)}]");
        var dims = (int[])shape.Clone();
        dims[inferred] = (int)(x.Numel / known);
        return new Shape(dims);
    }

    /// <summary>Flattens axes [startAxis, endAxis] into one (PyTorch's <c>flatten</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Flatten(Tensor x, int startAxis = 0, int endAxis = -1)
    {
        if (x.Rank == 0) return Reshape(x, new Shape(1));
        var s = x.Shape.NormalizeAxis(startAxis, "flatten");
        var e = x.Shape.NormalizeAxis(endAxis, "flatten");
        if (s > e) throw new LoomException($"flatten: start axis {startAxis} comes after end axis {endAxis} for shape {x.Shape}");
        var dims = new List<int>();
        for (var i = 0; i < s; i++) dims.Add(x.Shape.Dims[i]);
        dims.Add(x.Shape.Product(s, e + 1));
        for (var i = e + 1; i < x.Rank; i++) dims.Add(x.Shape.Dims[i]);
        return Reshape(x, new Shape([.. dims]));
    }

    /// <summary>Inserts a size-1 axis at <paramref name="axis"/>.</summary>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        var a = axis < 0 ? axis + x.Rank + 1 : axis;
        if (a < 0 || a > x.Rank) throw new LoomException($"unsqueeze: axis {axis} is out of range for shape {x.Shape}");
        var dims = x.Shape.ToArray().ToList();
        dims.Insert(a, 1);
        return Reshape(x, new Shape([.. dims]));
    }

    /// <summary>Removes axis <paramref name="axis"/> if its size is 1 (else returns x, as PyTorch does).</summary>
    public static Tensor Squeeze(Tensor x, int axis)
    {
        var a = x.Shape.NormalizeAxis(axis, "squeeze");
        if (x.Shape.Dims[a] != 1) return x;
        var dims = x.Shape.ToArray().ToList();
        dims.RemoveAt(a);
        return Reshape(x, new Shape([.. dims]));
    }

    /// <summary>Materialises a broadcast of x to <paramref name="shape"/> (PyTorch's <c>expand</c>, copied).  ∂/∂x = SumTo(g).</summary>
    public static Tensor Expand(Tensor x, Shape shape)
    {
        if (x.Shape == shape) return x;
        var target = Shape.Broadcast(x.Shape, shape, "expand");
        if (target != shape) throw new LoomException($"expand: shape {x.Shape} cannot be expanded to {shape}");
        Tensor y;
        using (Autograd.NoGrad())
        {
            y = Add(x, Tensor.EmptyZeroed(shape, x.DType));
        }
        var from = x.Shape;
        return Autograd.Record(y, "expand", x, g => SumTo(g, from));
    }

    /// <summary>Swaps two axes (a copy).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        var a = x.Shape.NormalizeAxis(axis0, "transpose");
        var b = x.Shape.NormalizeAxis(axis1, "transpose");
        var perm = new int[x.Rank];
        for (var i = 0; i < perm.Length; i++) perm[i] = i;
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    /// <summary>Reorders axes: output axis i is input axis perm[i] (a copy).  ∂/∂x = permute(g, perm⁻¹).</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank)
            throw new LoomException($"permute: {perm.Length} axes given for a tensor of rank {x.Rank} (shape {x.Shape})");
        var norm = new int[perm.Length];
        var seen = new bool[perm.Length];
        for (var i = 0; i < perm.Length; i++)
        {
            norm[i] = x.Shape.NormalizeAxis(perm[i], "permute");
            if (seen[norm[i]]) throw new LoomException($"permute: axis {perm[i]} appears twice in [{string.Join(", ", perm)}]");
            seen[norm[i]] = true;
        }
        var identity = true;
        for (var i = 0; i < norm.Length; i++) identity &= norm[i] == i;
        if (identity) return x;

        var outDims = new int[norm.Length];
        var srcStrides = x.Shape.Strides();
        var strides = new int[norm.Length];
        for (var i = 0; i < norm.Length; i++)
        {
            outDims[i] = x.Shape.Dims[norm[i]];
            strides[i] = srcStrides[norm[i]];
        }
        var y = Tensor.Empty(new Shape(outDims), x.DType);
        switch (x.DType)
        {
            case DType.Float32: StridedCopy<float>(x.Span<float>(), y.Span<float>(), outDims, strides); break;
            case DType.Float64: StridedCopy<double>(x.Span<double>(), y.Span<double>(), outDims, strides); break;
            default: StridedCopy<int>(x.Span<int>(), y.Span<int>(), outDims, strides); break;
        }
        var inverse = new int[norm.Length];
        for (var i = 0; i < norm.Length; i++) inverse[norm[i]] = i;
        return Autograd.Record(y, "permute", x, g => Permute(g, inverse));
    }

    /// <summary>Writes dst in row-major order of <paramref name="dims"/>, reading src at the given strides.</summary>
    internal static void StridedCopy<T>(ReadOnlySpan<T> src, Span<T> dst, ReadOnlySpan<int> dims, ReadOnlySpan<int> srcStrides)
        where T : unmanaged, INumberBase<T>
    {
        var rank = dims.Length;
        var inner = dims[rank - 1];
        var innerStride = srcStrides[rank - 1];
        if (dst.Length == 0) return;
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        var offset = 0;
        for (var row = 0; row < dst.Length / inner; row++)
        {
            var d = dst.Slice(row * inner, inner);
            if (innerStride == 1) src.Slice(offset, inner).CopyTo(d);
            else for (var j = 0; j < inner; j++) d[j] = src[offset + j * innerStride];
            for (var ax = rank - 2; ax >= 0; ax--)
            {
                counter[ax]++;
                offset += srcStrides[ax];
                if (counter[ax] < dims[ax]) break;
                offset -= srcStrides[ax] * dims[ax];
                counter[ax] = 0;
            }
        }
    }
}
