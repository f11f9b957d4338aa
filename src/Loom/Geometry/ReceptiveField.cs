namespace Loom.Geometry;

/// <summary>
/// One sliding-window layer (convolution or pooling) along one axis, as the receptive-field recurrence sees it.
/// </summary>
/// <param name="Kernel">Kernel size k.</param>
/// <param name="Stride">Stride s.</param>
/// <param name="Dilation">Dilation d.</param>
/// <param name="PadLow">Padding before the input (top or left); it shifts <see cref="ReceptiveField.Start"/>.</param>
public readonly record struct WindowLayer(int Kernel, int Stride = 1, int Dilation = 1, int PadLow = 0);

/// <summary>
/// The receptive field of a stack of window layers along one axis, in input positions:
/// <see cref="Size"/> r (how many input positions one output spans), <see cref="Jump"/> j (the distance in the input
/// between neighbouring outputs) and <see cref="Start"/> (the first input position seen by output 0; negative when it
/// lies in the padding). The standard recurrence, layer by layer from r = 1, j = 1, start = 0 at the input:
/// <c>r_out = r_in + (k−1)·d·j_in</c>, <c>j_out = j_in·s</c>, <c>start_out = start_in − p_lo·j_in</c>.
/// Output i then sees input positions within <c>start + i·j … start + i·j + r − 1</c> (with gaps when a layer is
/// dilated or strides further than its kernel reaches).
/// </summary>
/// <example>
/// Two 3×3 convolutions then a 2×2 max-pool: <c>ReceptiveField.Of([new(3), new(3), new(2, 2)])</c> has size 6, jump 2.
/// </example>
public readonly record struct ReceptiveField(int Size, int Jump, int Start)
{
    /// <summary>The input itself: each position sees itself (r = 1, j = 1, start = 0).</summary>
    public static ReceptiveField Input => new(1, 1, 0);

    /// <summary>The receptive field after one more layer (see the recurrence on <see cref="ReceptiveField"/>).</summary>
    public ReceptiveField Then(WindowLayer layer, string op = "receptive field")
    {
        if (layer.Kernel <= 0) throw new LoomException($"{op}: kernel size must be positive, found {layer.Kernel}");
        if (layer.Stride <= 0) throw new LoomException($"{op}: stride must be positive, found {layer.Stride}");
        if (layer.Dilation <= 0) throw new LoomException($"{op}: dilation must be positive, found {layer.Dilation}");
        if (layer.PadLow < 0) throw new LoomException($"{op}: padding must be non-negative, found {layer.PadLow}");
        var size = Size + (long)(layer.Kernel - 1) * layer.Dilation * Jump;
        var jump = (long)Jump * layer.Stride;
        var start = Start - (long)layer.PadLow * Jump;
        if (size > int.MaxValue || jump > int.MaxValue || start < int.MinValue)
            throw new LoomException($"{op}: receptive field {size}, jump {jump} or start {start} exceeds the range of a 32-bit size");
        return new ReceptiveField((int)size, (int)jump, (int)start);
    }

    /// <summary>The receptive field after one more layer.</summary>
    public ReceptiveField Then(int kernel, int stride = 1, int dilation = 1, int padLow = 0) => Then(new WindowLayer(kernel, stride, dilation, padLow));

    /// <summary>The receptive field after each layer of a stack, in order (the last one is the stack's).</summary>
    public static IReadOnlyList<ReceptiveField> Trace(IEnumerable<WindowLayer> layers)
    {
        var result = new List<ReceptiveField>();
        var rf = Input;
        foreach (var layer in layers)
        {
            rf = rf.Then(layer);
            result.Add(rf);
        }
        return result;
    }

    /// <summary>The receptive field of a whole stack (the input's when the stack is empty).</summary>
    public static ReceptiveField Of(IEnumerable<WindowLayer> layers)
    {
        var rf = Input;
        foreach (var layer in layers) rf = rf.Then(layer);
        return rf;
    }

    /// <summary>
    /// The recurrence step for <paramref name="layer"/> with the numbers substituted, e.g.
    /// <c>r = 3 + (3−1)·1·1 = 5, j = 1·2 = 2, start = 0 − 1·1 = −1</c>.
    /// </summary>
    public string Explain(WindowLayer layer)
    {
        var next = Then(layer);
        return $"r = {Size} + ({layer.Kernel}−1)·{layer.Dilation}·{Jump} = {next.Size}, j = {Jump}·{layer.Stride} = {next.Jump}, "
            + $"start = {Start} − {layer.PadLow}·{Jump} = {next.Start}";
    }
}
