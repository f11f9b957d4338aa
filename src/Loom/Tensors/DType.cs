namespace Loom;

/// <summary>Element type of a <see cref="Tensor"/>. Float32 trains; Float64 checks gradients; Int32 holds indices and labels.</summary>
public enum DType
{
    Float32,
    Float64,
    Int32,
}

/// <summary>Helpers for <see cref="DType"/>.</summary>
public static class DTypeExtensions
{
    /// <summary>The name PyTorch uses for this type (<c>float32</c>, <c>float64</c>, <c>int32</c>).</summary>
    public static string TorchName(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int32 => "int32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this DType dtype) => dtype == DType.Float64 ? 8 : 4;
}
