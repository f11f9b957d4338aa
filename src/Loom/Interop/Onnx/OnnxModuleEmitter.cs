using Loom.Nn;
using static Loom.Interop.Onnx.OnnxGraph;

namespace Loom.Interop.Onnx;

/// <summary>An ONNX value name with Loom's output for a batch-1 sample at that point (the static shapes come from it).</summary>
internal readonly record struct OnnxValue(string Name, Tensor Sample);

/// <summary>
/// Turns each Loom module into ONNX nodes. Each case reads the layer's configuration and writes the ONNX op with the
/// same semantics; Loom runs the layer on the sample alongside, so shape-dependent choices (Gemm or MatMul,
/// Reshape sizes, adaptive pooling windows) use the real shapes.
/// </summary>
internal sealed class OnnxModuleEmitter(OnnxGraph graph)
{
    public OnnxValue Emit(Module module, OnnxValue x, string scope)
    {
        switch (module)
        {
            case Sequential:
                foreach (var (name, child) in module.NamedChildren()) x = Emit(child, x, Join(scope, name));
                return x;
            case Residual r:
                {
                    var body = Emit(r.Body, x, Join(scope, "body"));
                    var skip = r.Shortcut is { } s ? Emit(s, x, Join(scope, "shortcut")) : x;
                    if (body.Sample.Shape != skip.Sample.Shape)
                        throw new LoomException($"onnx export: residual {scope}: the body's output {body.Sample.Shape} differs from the shortcut's {skip.Sample.Shape}");
                    return new(graph.Node("Add", scope, [body.Name, skip.Name]), body.Sample + skip.Sample);
                }
            case BasicBlock b:
                {
                    var y = Emit(b.Bn1, Emit(b.Conv1, x, Join(scope, "conv1")), Join(scope, "bn1"));
                    y = new(graph.Node("Relu", scope, [y.Name]), Functional.Relu(y.Sample));
                    y = Emit(b.Bn2, Emit(b.Conv2, y, Join(scope, "conv2")), Join(scope, "bn2"));
                    var skip = b.Downsample is { } d ? Emit(d, x, Join(scope, "downsample")) : x;
                    var sum = graph.Node("Add", scope, [y.Name, skip.Name]);
                    return new(graph.Node("Relu", scope, [sum]), Functional.Relu(y.Sample + skip.Sample));
                }
            case SequenceClassifier c:
                return SequenceClassifier(c, x, scope);
            case RecurrentLayer r:
                {
                    var seqFirst = new OnnxRecurrent(graph).Emit(r, x.Name, scope);
                    return new(graph.Node("Transpose", scope, [seqFirst], Ints("perm", 1, 0, 2)), r.Forward(x.Sample));
                }
            default:
                return new(Leaf(module, x, scope), module.Forward(x.Sample));
        }
    }

    private OnnxValue SequenceClassifier(SequenceClassifier c, OnnxValue x, string scope)
    {
        if (c.Recurrent is not RecurrentLayer rnn)
            throw new LoomException($"onnx export: {Describe(c.Recurrent, Join(scope, "rnn"))} has no ONNX equivalent (supported recurrent layers: LSTM, GRU, RNN)");
        // Loom's forward, run directly so that a classifier carrying state between batches keeps its state.
        var output = rnn.Forward(x.Sample, null).Output;
        var features = c.PerStep ? output : Functional.Select(output, 1, output.Shape[1] - 1);
        var seqFirst = new OnnxRecurrent(graph).Emit(rnn, x.Name, Join(scope, "rnn"));
        var name = c.PerStep
            ? graph.Node("Transpose", scope, [seqFirst], Ints("perm", 1, 0, 2))
            // The last time step: index −1 of the [T, B, D·H] output, a scalar index so the axis goes away.
            : graph.Node("Gather", scope, [seqFirst, graph.Int64Initializer(Join(scope, "last_step"), [-1])], Int("axis", 0));
        return Emit(c.Head, new OnnxValue(name, features), Join(scope, "head"));
    }

    private string Leaf(Module module, OnnxValue x, string scope)
    {
        var input = x.Name;
        switch (module)
        {
            case Identity:
            case Dropout:
                return input; // evaluation mode: dropout passes its input through
            case ReLU:
                return graph.Node("Relu", scope, [input]);
            case Tanh:
                return graph.Node("Tanh", scope, [input]);
            case Sigmoid:
                return graph.Node("Sigmoid", scope, [input]);
            case LeakyReLU l:
                return graph.Node("LeakyRelu", scope, [input], Float("alpha", l.NegativeSlope));
            case GELU g:
                return Gelu(input, g.TanhApproximation, scope);
            case Softmax s:
                return graph.Node("Softmax", scope, [input], Int("axis", s.Axis));
            case Flatten f:
                return Flatten(f, x, scope);
            case Linear l:
                return Linear(l, x, scope);
            case Conv2d c:
                return Conv("Conv", c.Weight, c.Bias, scope, input,
                    Ints("kernel_shape", c.Kernel.H, c.Kernel.W),
                    Ints("strides", c.Options.Stride.H, c.Options.Stride.W),
                    // ONNX orders pads as all begins then all ends: [top, left, bottom, right].
                    Ints("pads", c.Options.Padding.Top, c.Options.Padding.Left, c.Options.Padding.Bottom, c.Options.Padding.Right),
                    Ints("dilations", c.Options.Dilation.H, c.Options.Dilation.W),
                    Int("group", c.Options.Groups));
            case Conv1d c:
                return Conv("Conv", c.Weight, c.Bias, scope, input,
                    Ints("kernel_shape", c.Kernel), Ints("strides", c.Options.Stride),
                    Ints("pads", c.Options.Padding.Left, c.Options.Padding.Right), Ints("dilations", c.Options.Dilation),
                    Int("group", c.Options.Groups));
            case ConvTranspose2d c:
                // Both keep the weight as [C_in, C_out / groups, kH, kW].
                return Conv("ConvTranspose", c.Weight, c.Bias, scope, input,
                    Ints("kernel_shape", c.Kernel.H, c.Kernel.W),
                    Ints("strides", c.Options.Stride.H, c.Options.Stride.W),
                    Ints("pads", c.Options.Padding.Top, c.Options.Padding.Left, c.Options.Padding.Bottom, c.Options.Padding.Right),
                    Ints("output_padding", c.Options.OutputPadding.H, c.Options.OutputPadding.W),
                    Ints("dilations", c.Options.Dilation.H, c.Options.Dilation.W),
                    Int("group", c.Options.Groups));
            case MaxPool2d p:
                {
                    var o = p.Options;
                    var stride = o.Stride ?? o.Kernel;
                    return graph.Node("MaxPool", scope, [input],
                        Ints("kernel_shape", o.Kernel.H, o.Kernel.W), Ints("strides", stride.H, stride.W),
                        Ints("pads", o.Padding.H, o.Padding.W, o.Padding.H, o.Padding.W),
                        Ints("dilations", o.Dilation.H, o.Dilation.W), Int("ceil_mode", o.CeilMode ? 1 : 0));
                }
            case MaxPool1d p:
                return graph.Node("MaxPool", scope, [input],
                    Ints("kernel_shape", p.Kernel), Ints("strides", p.Stride), Ints("pads", p.Padding, p.Padding),
                    Ints("dilations", p.Dilation), Int("ceil_mode", p.CeilMode ? 1 : 0));
            case AvgPool2d p:
                {
                    var o = p.Options;
                    if (o.DivisorOverride is { } div)
                        throw new LoomException($"onnx export: {Describe(module, scope)} has divisor_override={div}, which ONNX's AveragePool cannot express");
                    var stride = o.Stride ?? o.Kernel;
                    return graph.Node("AveragePool", scope, [input],
                        Ints("kernel_shape", o.Kernel.H, o.Kernel.W), Ints("strides", stride.H, stride.W),
                        Ints("pads", o.Padding.H, o.Padding.W, o.Padding.H, o.Padding.W),
                        Int("ceil_mode", o.CeilMode ? 1 : 0), Int("count_include_pad", o.CountIncludePad ? 1 : 0));
                }
            case AvgPool1d p:
                return graph.Node("AveragePool", scope, [input],
                    Ints("kernel_shape", p.Kernel), Ints("strides", p.Stride), Ints("pads", p.Padding, p.Padding),
                    Int("ceil_mode", p.CeilMode ? 1 : 0), Int("count_include_pad", p.CountIncludePad ? 1 : 0));
            case AdaptiveAvgPool2d a:
                return AdaptiveAvgPool(a, x, scope);
            case BatchNormBase bn:
                return BatchNorm(bn, input, scope);
            default:
                throw new LoomException($"onnx export: {Describe(module, scope)} has no ONNX equivalent in Loom's exporter; see docs/interop.md for the supported layers");
        }
    }

    private string Conv(string op, Tensor weight, Tensor? bias, string scope, string input, params Proto.AttributeProto[] attributes)
    {
        List<string> inputs = [input, graph.Initializer(Join(scope, "weight"), weight)];
        if (bias is not null) inputs.Add(graph.Initializer(Join(scope, "bias"), bias));
        return graph.Node(op, scope, inputs, attributes);
    }

    // y = x·Wᵀ + b: Gemm (transB) for [N, in]; MatMul with Wᵀ then Add for more leading axes (a per-step head).
    private string Linear(Linear l, OnnxValue x, string scope)
    {
        if (x.Sample.Rank == 2)
        {
            List<string> inputs = [x.Name, graph.Initializer(Join(scope, "weight"), l.Weight)];
            if (l.Bias is { } b) inputs.Add(graph.Initializer(Join(scope, "bias"), b));
            return graph.Node("Gemm", scope, inputs, Int("transB", 1));
        }
        var wt = graph.Initializer(Join(scope, "weight_t"), Functional.Transpose(l.Weight, 0, 1));
        var y = graph.Node("MatMul", scope, [x.Name, wt]);
        return l.Bias is { } bias ? graph.Node("Add", scope, [y, graph.Initializer(Join(scope, "bias"), bias)]) : y;
    }

    // Loom's Flatten(1, −1) is ONNX's Flatten(axis = 1); other ranges become a Reshape that copies the axes before
    // start (0 = "keep this dimension", which keeps the batch symbolic) and writes the merged size.
    private string Flatten(Flatten f, OnnxValue x, string scope)
    {
        var dims = x.Sample.Shape.Dims;
        var rank = dims.Length;
        var start = f.StartAxis < 0 ? f.StartAxis + rank : f.StartAxis;
        var end = f.EndAxis < 0 ? f.EndAxis + rank : f.EndAxis;
        if (start == 1 && end == rank - 1) return graph.Node("Flatten", scope, [x.Name], Int("axis", 1));
        var shape = new List<long>();
        for (var i = 0; i < start; i++) shape.Add(0);
        var merged = 1L;
        for (var i = start; i <= end; i++) merged *= dims[i];
        shape.Add(start == 0 ? -1 : merged);
        for (var i = end + 1; i < rank; i++) shape.Add(dims[i]);
        var target = graph.Int64Initializer(Join(scope, "shape"), [.. shape], shape.Count);
        return graph.Node("Reshape", scope, [x.Name, target]);
    }

    // Output 1×1 is GlobalAveragePool; an output that divides the input evenly is an AveragePool whose window and
    // stride are the ratio (PyTorch's adaptive windows coincide with it then); other sizes have no ONNX op.
    private string AdaptiveAvgPool(AdaptiveAvgPool2d a, OnnxValue x, string scope)
    {
        var (h, w) = (x.Sample.Shape[2], x.Sample.Shape[3]);
        var (oh, ow) = a.OutputSize;
        if (oh == 1 && ow == 1) return graph.Node("GlobalAveragePool", scope, [x.Name]);
        if (h % oh != 0 || w % ow != 0)
            throw new LoomException($"onnx export: {Describe(a, scope)}: output {oh}x{ow} does not divide the input {h}x{w}; ONNX has no adaptive pooling");
        return graph.Node("AveragePool", scope, [x.Name], Ints("kernel_shape", h / oh, w / ow), Ints("strides", h / oh, w / ow));
    }

    // Evaluation mode: y = (x − running_mean) / √(running_var + eps) · weight + bias, ONNX's BatchNormalization.
    private string BatchNorm(BatchNormBase bn, string input, string scope)
    {
        if (!bn.TrackRunningStats)
            throw new LoomException($"onnx export: {Describe(bn, scope)} has no running statistics (track_running_stats=False), so it normalizes with each batch's own; ONNX's BatchNormalization needs fixed statistics");
        var state = bn.StateDict();
        var ones = Enumerable.Repeat(1f, bn.NumFeatures).ToArray();
        var scale = bn.Affine ? graph.Initializer(Join(scope, "weight"), state["weight"]) : graph.Initializer(Join(scope, "weight"), ones, bn.NumFeatures);
        var bias = bn.Affine ? graph.Initializer(Join(scope, "bias"), state["bias"]) : graph.Initializer(Join(scope, "bias"), new float[bn.NumFeatures], bn.NumFeatures);
        var mean = graph.Initializer(Join(scope, "running_mean"), state["running_mean"]);
        var variance = graph.Initializer(Join(scope, "running_var"), state["running_var"]);
        return graph.Node("BatchNormalization", scope, [input, scale, bias, mean, variance], Float("epsilon", bn.Eps));
    }

    // Opset 17 has no Gelu op (it arrives in opset 20), so write PyTorch's formulas:
    // exact  0.5·x·(1 + erf(x/√2));  tanh  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    private string Gelu(string x, bool tanh, string scope)
    {
        string inner;
        if (tanh)
        {
            var cube = graph.Node("Mul", scope, [graph.Node("Mul", scope, [x, x]), x]);
            var sum = graph.Node("Add", scope, [x, graph.Node("Mul", scope, [cube, graph.Scalar(Join(scope, "c"), 0.044715f)])]);
            inner = graph.Node("Tanh", scope, [graph.Node("Mul", scope, [sum, graph.Scalar(Join(scope, "sqrt_2_over_pi"), (float)Math.Sqrt(2 / Math.PI))])]);
        }
        else
        {
            inner = graph.Node("Erf", scope, [graph.Node("Div", scope, [x, graph.Scalar(Join(scope, "sqrt_2"), (float)Math.Sqrt(2))])]);
        }
        var onePlus = graph.Node("Add", scope, [inner, graph.Scalar(Join(scope, "one"), 1f)]);
        return graph.Node("Mul", scope, [graph.Node("Mul", scope, [x, onePlus]), graph.Scalar(Join(scope, "half"), 0.5f)]);
    }

    /// <summary>"layer 3 (MaxPool2d)" or "the model (Foo)": how export errors name a layer.</summary>
    internal static string Describe(Module module, string scope) =>
        scope.Length == 0 ? $"the model ({module.TypeName})" : $"layer {scope} ({module.TypeName})";

    /// <summary>A state-dict style path: parent.child.</summary>
    internal static string Join(string scope, string name) => scope.Length == 0 ? name : $"{scope}.{name}";
}
