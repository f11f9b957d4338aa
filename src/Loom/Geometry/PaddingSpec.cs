using System.Globalization;

namespace Loom.Geometry;

/// <summary>The padding of one spatial axis: <see cref="Low"/> before the input (top, left), <see cref="High"/> after it (bottom, right).</summary>
public readonly record struct AxisPadding(int Low, int High)
{
    /// <summary>Low + High.</summary>
    public int Total => Low + High;

    /// <inheritdoc/>
    public override string ToString() => $"{Low},{High}";
}

/// <summary>How a padding was given: explicit sizes, <c>same</c> or <c>valid</c>.</summary>
public enum PaddingMode
{
    /// <summary>Explicit sizes per side.</summary>
    Explicit,

    /// <summary>Output as long as the input at stride 1: total d·(k−1) per axis, the odd pixel after (SAME_UPPER).</summary>
    Same,

    /// <summary>No padding.</summary>
    Valid,
}

/// <summary>
/// A padding for a window op over N spatial axes, as a user writes it: <c>P</c> (every side), <c>PHxPW</c>
/// (symmetric per axis), per side <c>T,B,L,R</c> (the seed's order: top, bottom, left, right; for 1-D <c>L,R</c>),
/// <c>same</c> or <c>valid</c>. <see cref="Resolve"/> turns it into per-axis sizes for a given kernel.
/// </summary>
/// <example>
/// <c>PaddingSpec.Parse("0,1,2,0", 2).Resolve([4, 5], [1, 1], [4, 4])</c> is <c>[(0, 1), (2, 0)]</c>;
/// <c>PaddingSpec.Parse("same", 2).Resolve([4, 4], [1, 1], [1, 1])</c> is <c>[(1, 2), (1, 2)]</c>.
/// </example>
public sealed class PaddingSpec
{
    private readonly AxisPadding[] _axes;

    private PaddingSpec(PaddingMode mode, AxisPadding[] axes)
    {
        Mode = mode;
        _axes = axes;
    }

    /// <summary>The <c>same</c> padding.</summary>
    public static PaddingSpec Same { get; } = new(PaddingMode.Same, []);

    /// <summary>The <c>valid</c> padding (none).</summary>
    public static PaddingSpec Valid { get; } = new(PaddingMode.Valid, []);

    /// <summary>How the padding was given.</summary>
    public PaddingMode Mode { get; }

    /// <summary>The explicit per-axis sizes (empty for <c>same</c> and <c>valid</c>, which depend on the kernel).</summary>
    public IReadOnlyList<AxisPadding> Axes => _axes;

    /// <summary>An explicit padding, one entry per spatial axis; sizes must be non-negative.</summary>
    public static PaddingSpec Explicit(params AxisPadding[] axes)
    {
        foreach (var a in axes)
        {
            if (a.Low < 0 || a.High < 0)
                throw new LoomException($"padding: sizes must be non-negative, found {a.Low},{a.High}");
        }
        return new PaddingSpec(PaddingMode.Explicit, [.. axes]);
    }

    /// <summary>The same padding <paramref name="size"/> on every side of <paramref name="spatialAxes"/> axes.</summary>
    public static PaddingSpec Uniform(int size, int spatialAxes)
        => Explicit([.. Enumerable.Repeat(new AxisPadding(size, size), spatialAxes)]);

    /// <summary>
    /// Parses a padding for <paramref name="spatialAxes"/> spatial axes. Accepted: <c>P</c>; one value per axis joined by
    /// <c>x</c> (<c>PHxPW</c>); two values per axis joined by commas, low then high per axis (<c>T,B,L,R</c> in 2-D,
    /// <c>L,R</c> in 1-D); <c>same</c>; <c>valid</c>. Throws a <see cref="LoomException"/> naming <paramref name="name"/>,
    /// the accepted forms and what was found.
    /// </summary>
    public static PaddingSpec Parse(string text, int spatialAxes, string name = "padding")
    {
        if (spatialAxes <= 0) throw new ArgumentOutOfRangeException(nameof(spatialAxes), spatialAxes, "at least one spatial axis");
        var t = (text ?? "").Trim();
        if (t.Equals("same", StringComparison.OrdinalIgnoreCase)) return Same;
        if (t.Equals("valid", StringComparison.OrdinalIgnoreCase)) return Valid;

        var perSide = t.Contains(',', StringComparison.Ordinal);
        var parts = perSide ? t.Split(',') : t.Split('x', 'X', '×');
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var p = parts[i].Trim();
            if (p.Length == 0 || !int.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
                throw new LoomException($"{name}: expected {Forms(spatialAxes)}, found '{text}'");
            if (values[i] < 0)
                throw new LoomException($"{name}: sizes must be non-negative, found {values[i]} in '{text}'");
        }

        var axes = new AxisPadding[spatialAxes];
        if (perSide && values.Length == 2 * spatialAxes)
        {
            for (var a = 0; a < spatialAxes; a++) axes[a] = new AxisPadding(values[2 * a], values[2 * a + 1]);
        }
        else if (!perSide && values.Length == 1)
        {
            Array.Fill(axes, new AxisPadding(values[0], values[0]));
        }
        else if (!perSide && values.Length == spatialAxes)
        {
            for (var a = 0; a < spatialAxes; a++) axes[a] = new AxisPadding(values[a], values[a]);
        }
        else
        {
            throw new LoomException($"{name}: expected {Forms(spatialAxes)}, found '{text}' ({values.Length} value{(values.Length == 1 ? "" : "s")})");
        }
        return new PaddingSpec(PaddingMode.Explicit, axes);
    }

    /// <summary>
    /// The per-axis padding for a kernel: explicit sizes as given, <c>valid</c> as zeros, <c>same</c> as
    /// <see cref="ConvGeometry.SamePadding"/> (total d·(k−1), the odd pixel after; stride must be 1).
    /// </summary>
    /// <param name="kernel">Kernel size per spatial axis.</param>
    /// <param name="dilation">Dilation per spatial axis.</param>
    /// <param name="stride">Stride per spatial axis.</param>
    /// <param name="op">The op named in errors.</param>
    /// <param name="axisNames">Axis names for errors (e.g. <c>height</c>, <c>width</c>); defaults to <c>axis i</c>.</param>
    public AxisPadding[] Resolve(ReadOnlySpan<int> kernel, ReadOnlySpan<int> dilation, ReadOnlySpan<int> stride, string op = "conv",
        IReadOnlyList<string>? axisNames = null)
    {
        var n = kernel.Length;
        if (dilation.Length != n || stride.Length != n)
            throw new ArgumentException($"kernel, dilation and stride need one entry per axis; found {n}, {dilation.Length}, {stride.Length}");
        string AxisName(int a) => axisNames is not null && a < axisNames.Count ? axisNames[a] : $"axis {a}";
        switch (Mode)
        {
            case PaddingMode.Valid:
                return new AxisPadding[n];
            case PaddingMode.Same:
                var same = new AxisPadding[n];
                for (var a = 0; a < n; a++)
                {
                    if (stride[a] != 1)
                        throw new LoomException($"{op}: padding 'same' needs stride 1 (as in PyTorch), found stride {stride[a]} along {AxisName(a)}");
                    var (lo, hi) = ConvGeometry.SamePadding(kernel[a], dilation[a], stride[a], op);
                    same[a] = new AxisPadding(lo, hi);
                }
                return same;
            default:
                if (_axes.Length != n)
                    throw new LoomException($"{op}: padding {this} has {_axes.Length} spatial axes, the kernel has {n}");
                return [.. _axes];
        }
    }

    /// <summary>
    /// The padding as it would be written: <c>same</c>, <c>valid</c>, <c>P</c> when every side is equal, else
    /// low,high per axis joined by commas (<c>T,B,L,R</c> in 2-D).
    /// </summary>
    public override string ToString()
    {
        if (Mode == PaddingMode.Same) return "same";
        if (Mode == PaddingMode.Valid) return "valid";
        if (_axes.Length > 0 && _axes.All(a => a.Low == _axes[0].Low && a.High == _axes[0].Low)) return _axes[0].Low.ToString(CultureInfo.InvariantCulture);
        return string.Join(",", _axes.Select(a => a.ToString()));
    }

    private static string Forms(int spatialAxes) => spatialAxes switch
    {
        1 => "P or L,R (left,right), 'same' or 'valid' (non-negative integers)",
        2 => "P, PHxPW or T,B,L,R (top,bottom,left,right), 'same' or 'valid' (non-negative integers)",
        _ => $"P, {spatialAxes} values joined by 'x', {2 * spatialAxes} values joined by ',' (low,high per axis), 'same' or 'valid' (non-negative integers)",
    };
}
