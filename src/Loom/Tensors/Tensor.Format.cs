using System.Globalization;
using System.Text;

namespace Loom;

public sealed partial class Tensor
{
    /// <summary>PyTorch-like printing: nested brackets, at most 6 values per axis shown.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(FormatValue(GetFlat(0)));
        else Append(sb, 0, 0);
        sb.Append(", shape=").Append(Shape);
        if (DType != DType.Float32) sb.Append(", dtype=").Append(DType.TorchName());
        if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private void Append(StringBuilder sb, int axis, int offset)
    {
        var n = Shape.Dims[axis];
        var stride = Shape.Product(axis + 1, Rank);
        sb.Append('[');
        for (var i = 0; i < n; i++)
        {
            if (n > 6 && i == 3)
            {
                sb.Append("..., ");
                i = n - 3;
            }
            if (axis == Rank - 1) sb.Append(FormatValue(GetFlat(offset + i)));
            else Append(sb, axis + 1, offset + i * stride);
            if (i < n - 1) sb.Append(", ");
        }
        sb.Append(']');
    }

    private string FormatValue(double v) => DType == DType.Int32
        ? ((int)v).ToString(CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);
}
