using System.Numerics;

namespace Loom.Kernels;

/// <summary>An elementwise binary operation, written once per operand layout so the loop below can use SIMD rows.</summary>
public interface IBinaryRowOp
{
    static abstract void Rows<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>;

    static abstract void RowScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>;

    static abstract void ScalarRow<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>;

    static abstract T Scalar<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The one loop behind every broadcasting binary op: it merges axes that are contiguous in both operands, then
/// walks the outer axes and hands whole inner rows (or a row and a scalar) to the op's SIMD routine.
/// </summary>
public static class Broadcasting
{
    public static void Binary<TOp, T>(ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides,
        Span<T> dst, ReadOnlySpan<int> shape)
        where TOp : IBinaryRowOp
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Coalesce(shape, aStrides, bStrides, out var dims, out var sa, out var sb);
        var rank = dims.Length;
        if (rank == 0)
        {
            dst[0] = TOp.Scalar(a[0], b[0]);
            return;
        }
        var inner = dims[rank - 1];
        var ia = sa[rank - 1];
        var ib = sb[rank - 1];
        var outer = dst.Length / Math.Max(1, inner);
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        int offA = 0, offB = 0;
        for (var row = 0; row < outer; row++)
        {
            var d = dst.Slice(row * inner, inner);
            if (ia == 1 && ib == 1) TOp.Rows(a.Slice(offA, inner), b.Slice(offB, inner), d);
            else if (ia == 1 && ib == 0) TOp.RowScalar(a.Slice(offA, inner), b[offB], d);
            else if (ia == 0 && ib == 1) TOp.ScalarRow(a[offA], b.Slice(offB, inner), d);
            else d.Fill(TOp.Scalar(a[offA], b[offB]));
            // advance the odometer over the outer axes
            for (var ax = rank - 2; ax >= 0; ax--)
            {
                counter[ax]++;
                offA += sa[ax];
                offB += sb[ax];
                if (counter[ax] < dims[ax]) break;
                offA -= sa[ax] * dims[ax];
                offB -= sb[ax] * dims[ax];
                counter[ax] = 0;
            }
        }
    }

    /// <summary>Drops size-1 axes and merges neighbours that are contiguous in both operands.</summary>
    private static void Coalesce(ReadOnlySpan<int> shape, ReadOnlySpan<int> aStrides, ReadOnlySpan<int> bStrides,
        out int[] dims, out int[] sa, out int[] sb)
    {
        var d = new List<int>(shape.Length);
        var xa = new List<int>(shape.Length);
        var xb = new List<int>(shape.Length);
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (d.Count > 0)
            {
                var last = d.Count - 1;
                if (xa[last] == aStrides[i] * shape[i] && xb[last] == bStrides[i] * shape[i])
                {
                    d[last] *= shape[i];
                    xa[last] = aStrides[i];
                    xb[last] = bStrides[i];
                    continue;
                }
            }
            d.Add(shape[i]);
            xa.Add(aStrides[i]);
            xb.Add(bStrides[i]);
        }
        dims = [.. d];
        sa = [.. xa];
        sb = [.. xb];
    }
}
