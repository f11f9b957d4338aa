using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Loom.Data;

/// <summary>The element type of an IDX file: the third byte of its magic number.</summary>
public enum IdxType : byte
{
    /// <summary>0x08: unsigned byte (MNIST's images and labels).</summary>
    UInt8 = 0x08,

    /// <summary>0x09: signed byte.</summary>
    Int8 = 0x09,

    /// <summary>0x0B: 2-byte integer, big-endian.</summary>
    Int16 = 0x0B,

    /// <summary>0x0C: 4-byte integer, big-endian.</summary>
    Int32 = 0x0C,

    /// <summary>0x0D: 4-byte IEEE float, big-endian.</summary>
    Float32 = 0x0D,

    /// <summary>0x0E: 8-byte IEEE float, big-endian.</summary>
    Float64 = 0x0E,
}

/// <summary>Helpers for <see cref="IdxType"/>.</summary>
public static class IdxTypeExtensions
{
    /// <summary>Whether <paramref name="code"/> is one of the six type codes of the IDX format.</summary>
    public static bool IsDefined(byte code) => code is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;

    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this IdxType type) => type switch
    {
        IdxType.UInt8 or IdxType.Int8 => 1,
        IdxType.Int16 => 2,
        IdxType.Int32 or IdxType.Float32 => 4,
        IdxType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>A short lower-case name (<c>uint8</c>, <c>float32</c>, …) for messages.</summary>
    public static string Name(this IdxType type) => type switch
    {
        IdxType.UInt8 => "uint8",
        IdxType.Int8 => "int8",
        IdxType.Int16 => "int16",
        IdxType.Int32 => "int32",
        IdxType.Float32 => "float32",
        IdxType.Float64 => "float64",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}

/// <summary>
/// The content of one IDX file: a shape and a flat, row-major array of elements of one <see cref="IdxType"/>,
/// in the machine's byte order (the file's big-endian values are swapped on reading).
/// </summary>
/// <example>
/// <code>
/// var images = Idx.Read("data/digits/train-images-idx3-ubyte.gz");   // Shape [8000, 28, 28], UInt8
/// ReadOnlySpan&lt;byte&gt; first = images.AsSpan&lt;byte&gt;()[..784];
/// </code>
/// </example>
public sealed class IdxArray
{
    private readonly Array _data;

    private IdxArray(Array data, Shape shape, IdxType type)
    {
        if (shape.Rank == 0)
            throw new LoomException("idx: an IDX array needs at least one dimension");
        if (data.Length != shape.Numel)
            throw new LoomException($"idx: {data.Length} values cannot fill shape {shape} ({shape.Numel} elements)");
        _data = data;
        Shape = shape;
        Type = type;
    }

    /// <summary>Wraps unsigned bytes (not copied).</summary>
    public IdxArray(byte[] data, Shape shape) : this(data, shape, IdxType.UInt8) { }

    /// <summary>Wraps signed bytes (not copied).</summary>
    public IdxArray(sbyte[] data, Shape shape) : this(data, shape, IdxType.Int8) { }

    /// <summary>Wraps 2-byte integers (not copied).</summary>
    public IdxArray(short[] data, Shape shape) : this(data, shape, IdxType.Int16) { }

    /// <summary>Wraps 4-byte integers (not copied).</summary>
    public IdxArray(int[] data, Shape shape) : this(data, shape, IdxType.Int32) { }

    /// <summary>Wraps 4-byte floats (not copied).</summary>
    public IdxArray(float[] data, Shape shape) : this(data, shape, IdxType.Float32) { }

    /// <summary>Wraps 8-byte floats (not copied).</summary>
    public IdxArray(double[] data, Shape shape) : this(data, shape, IdxType.Float64) { }

    /// <summary>Allocates a zeroed array of <paramref name="type"/> for the reader to fill.</summary>
    internal static IdxArray Allocate(IdxType type, Shape shape)
    {
        var n = shape.Numel;
        Array data = type switch
        {
            IdxType.UInt8 => new byte[n],
            IdxType.Int8 => new sbyte[n],
            IdxType.Int16 => new short[n],
            IdxType.Int32 => new int[n],
            IdxType.Float32 => new float[n],
            IdxType.Float64 => new double[n],
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        return new IdxArray(data, shape, type);
    }

    /// <summary>The element type.</summary>
    public IdxType Type { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public Shape Shape { get; }

    /// <summary>The number of elements.</summary>
    public int Count => _data.Length;

    /// <summary>The elements as raw bytes in machine order (for the reader and writer).</summary>
    internal Span<byte> RawBytes() => Type switch
    {
        IdxType.UInt8 => (byte[])_data,
        IdxType.Int8 => MemoryMarshal.AsBytes(((sbyte[])_data).AsSpan()),
        IdxType.Int16 => MemoryMarshal.AsBytes(((short[])_data).AsSpan()),
        IdxType.Int32 => MemoryMarshal.AsBytes(((int[])_data).AsSpan()),
        IdxType.Float32 => MemoryMarshal.AsBytes(((float[])_data).AsSpan()),
        IdxType.Float64 => MemoryMarshal.AsBytes(((double[])_data).AsSpan()),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>
    /// The elements as a span of <typeparamref name="T"/>, which must be the .NET type of <see cref="Type"/>
    /// (<c>byte</c>, <c>sbyte</c>, <c>short</c>, <c>int</c>, <c>float</c> or <c>double</c>).
    /// </summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged =>
        _data is T[] array
            ? array
            : throw new LoomException($"idx: the array holds {Type.Name()} values, not {typeof(T).Name}");

    /// <summary>
    /// The elements converted to float32 and divided by <paramref name="divisor"/> (images of bytes:
    /// <c>ToSingleArray(255)</c> gives [0, 1], computed as <c>v / 255f</c>, as torchvision's <c>ToTensor</c> does).
    /// </summary>
    public float[] ToSingleArray(float divisor = 1)
    {
        var result = new float[Count];
        switch (Type)
        {
            case IdxType.UInt8: TensorPrimitives.ConvertTruncating<byte, float>((byte[])_data, result); break;
            case IdxType.Int8: TensorPrimitives.ConvertTruncating<sbyte, float>((sbyte[])_data, result); break;
            case IdxType.Int16: TensorPrimitives.ConvertTruncating<short, float>((short[])_data, result); break;
            case IdxType.Int32: TensorPrimitives.ConvertTruncating<int, float>((int[])_data, result); break;
            case IdxType.Float32: ((float[])_data).CopyTo(result, 0); break;
            case IdxType.Float64: TensorPrimitives.ConvertTruncating<double, float>((double[])_data, result); break;
            default: throw new InvalidOperationException();
        }
        if (divisor != 1) TensorPrimitives.Divide(result, divisor, result);
        return result;
    }

    /// <summary>The elements as 32-bit integers; only for the integer types (labels).</summary>
    public int[] ToInt32Array()
    {
        var result = new int[Count];
        switch (Type)
        {
            case IdxType.UInt8: TensorPrimitives.ConvertTruncating<byte, int>((byte[])_data, result); break;
            case IdxType.Int8: TensorPrimitives.ConvertTruncating<sbyte, int>((sbyte[])_data, result); break;
            case IdxType.Int16: TensorPrimitives.ConvertTruncating<short, int>((short[])_data, result); break;
            case IdxType.Int32: ((int[])_data).CopyTo(result, 0); break;
            default: throw new LoomException($"idx: {Type.Name()} values are not integers");
        }
        return result;
    }
}
