namespace Loom;

/// <summary>
/// The sizes of a tensor's axes, outermost first (row-major). Immutable; compares by value.
/// Printed as PyTorch prints sizes: <c>[32, 784]</c>.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? _dims;

    public Shape(params ReadOnlySpan<int> dims)
    {
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw new LoomException($"shape: size {dims[i]} of axis {i} in [{string.Join(", ", dims.ToArray())}] is negative");
        }
        _dims = dims.ToArray();
    }

    internal Shape(int[] dims, bool noCopy)
    {
        _ = noCopy;
        _dims = dims;
    }

    /// <summary>Number of axes.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>Size of axis <paramref name="axis"/>; negative axes count from the end.</summary>
    public int this[int axis] => Dims[NormalizeAxis(axis, "shape")];

    /// <summary>The sizes as a read-only span.</summary>
    public ReadOnlySpan<int> Dims => _dims ?? [];

    /// <summary>Total number of elements (1 for a scalar).</summary>
    public int Numel
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            if (n > int.MaxValue) throw new LoomException($"shape {this}: {n} elements exceed the {int.MaxValue} a tensor can hold");
            return (int)n;
        }
    }

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var s = new int[Rank];
        var acc = 1;
        for (var i = Rank - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= Dims[i];
        }
        return s;
    }

    /// <summary>Maps a possibly negative axis to 0..Rank-1, or throws naming <paramref name="op"/>.</summary>
    public int NormalizeAxis(int axis, string op)
    {
        var a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank)
            throw new LoomException($"{op}: axis {axis} is out of range for a tensor of shape {this} (rank {Rank})");
        return a;
    }

    /// <summary>The product of the sizes of axes [start, end).</summary>
    public int Product(int start, int end)
    {
        var p = 1;
        for (var i = start; i < end; i++) p *= Dims[i];
        return p;
    }

    public int[] ToArray() => Dims.ToArray();

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString() => "[" + string.Join(", ", Dims.ToArray()) + "]";

    /// <summary>
    /// The shape two operands broadcast to under NumPy's rules (align from the right; sizes equal or one is 1).
    /// </summary>
    public static Shape Broadcast(Shape a, Shape b, string op)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Rank ? 1 : a.Dims[i - (rank - a.Rank)];
            var db = i < rank - b.Rank ? 1 : b.Dims[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new LoomException($"{op}: shapes {a} and {b} do not broadcast: axis {i - rank} has sizes {da} and {db}");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims, noCopy: true);
    }

    /// <summary>Strides of <paramref name="source"/> seen through the broadcast <paramref name="target"/> shape (0 on broadcast axes).</summary>
    internal static int[] BroadcastStrides(Shape source, Shape target)
    {
        var strides = new int[target.Rank];
        var src = source.Strides();
        var offset = target.Rank - source.Rank;
        for (var i = 0; i < source.Rank; i++)
            strides[i + offset] = source.Dims[i] == 1 && target.Dims[i + offset] != 1 ? 0 : src[i];
        return strides;
    }
}
