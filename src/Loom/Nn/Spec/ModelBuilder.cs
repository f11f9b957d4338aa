using Loom.Geometry;

namespace Loom.Nn.Spec;

/// <summary>One built layer with the shapes around it (without the batch axis) and its geometry.</summary>
public sealed record BuiltLayer(string Key, LayerSpec Spec, Module Module, Shape InputShape, Shape OutputShape,
    long Parameters, IReadOnlyList<ReceptiveField> ReceptiveField);

/// <summary>A model built from a spec: the Sequential plus per-layer shapes, for <c>loom summary</c>.</summary>
public sealed record BuiltModel(Sequential Model, Shape InputShape, Shape OutputShape, IReadOnlyList<BuiltLayer> Layers)
{
    public long TotalParameters => Model.ParameterCount();
}

/// <summary>
/// Builds a <see cref="Sequential"/> from a spec string and an input shape (C×H×W, C×L or F), inferring each layer's
/// input size from the previous output, so <c>conv(32,3,p=1)</c> needs no input-channel count. The grammar:
/// <code>
/// conv(F, K[, s=S][, p=P|PHxPW|[t,b,l,r]|same|valid][, d=D][, g=G][, bias=false])   Conv2d (Conv1d on C×L input)
/// convt(F, K[, s=S][, p=P][, op=OP])      ConvTranspose2d
/// linear(N[, bias=false])  (fc, dense)   Linear on the last axis
/// maxpool(K[, s=S][, p=P][, d=D][, ceil=true])   avgpool(K[, s=S][, p=P][, ceil=true][, include_pad=false])
/// gap | adaptiveavgpool(S)               AdaptiveAvgPool2d (gap = to 1×1)
/// bn                                     BatchNorm2d / BatchNorm1d by input rank
/// relu | leakyrelu(SLOPE) | gelu | tanh | sigmoid | softmax | dropout(P) | flatten
/// res(LAYERS…)                           residual: LAYERS + identity (shapes must agree)
/// basic(F[, s=S])                        ResNet BasicBlock with projection when needed
/// </code>
/// K, S, D may be square (3) or per axis (3x5).
/// </summary>
public static class ModelBuilder
{
    public const string Grammar = """
        Layers are separated by spaces; input sizes are inferred from --input.
          conv(F,K[,s=S][,p=P|PHxPW|[t,b,l,r]|same|valid][,d=D][,g=G][,bias=false])  2-D conv (1-D on CxL input)
          convt(F,K[,s=S][,p=P][,op=OP])   transposed conv      linear(N[,bias=false])  (aliases fc, dense)
          maxpool(K[,s=S][,p=P][,d=D][,ceil=true])   avgpool(K[,s=S][,p=P][,ceil=true][,include_pad=false])
          gap | adaptiveavgpool(S)   bn   dropout(P)   flatten
          relu | leakyrelu(SLOPE) | gelu | tanh | sigmoid | softmax
          res(LAYERS...)   residual block (LAYERS + identity)     basic(F[,s=S])  ResNet BasicBlock
        K, S, D: one number (3) or per axis (3x5).
        """;

    /// <summary>Parses <paramref name="spec"/> and builds the model for inputs of <paramref name="inputShape"/> (no batch axis).</summary>
    public static BuiltModel Build(string spec, Shape inputShape, Generator? generator = null)
    {
        var layers = SpecParser.Parse(spec);
        var model = new Sequential();
        var built = new List<BuiltLayer>();
        var shape = inputShape;
        var spatial = Math.Max(1, inputShape.Rank - 1);
        var rf = Enumerable.Repeat(ReceptiveField.Input, spatial).ToArray();
        foreach (var layer in layers)
        {
            var key = model.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var module = Create(layer, shape, generator);
            var output = Probe(layer, module, shape);
            for (var axis = 0; axis < rf.Length; axis++)
                foreach (var window in Windows(module, axis)) rf[axis] = rf[axis].Then(window);
            model.Add(module);
            built.Add(new BuiltLayer(key, layer, module, shape, output, module.ParameterCount(), [.. rf]));
            shape = output;
        }
        return new BuiltModel(model, inputShape, shape, built);
    }

    /// <summary>Runs the layer on a zero batch of one to learn its output shape; a failure names the layer and the shape.</summary>
    private static Shape Probe(LayerSpec layer, Module module, Shape input)
    {
        using var _ = Autograd.NoGrad();
        var wasTraining = module.Training;
        module.Eval();
        try
        {
            var x = Tensor.Zeros(new Shape([1, .. input.Dims]));
            var y = module.Forward(x);
            return new Shape(y.Shape.Dims[1..]);
        }
        catch (LoomException e)
        {
            throw new LoomException($"spec: {layer.Text} at position {layer.Position} cannot take input {input}: {e.Message}", e);
        }
        finally
        {
            module.Train(wasTraining);
        }
    }

    /// <summary>The sliding windows a layer applies along spatial axis <paramref name="axis"/> (0 = H or L, 1 = W).</summary>
    private static IEnumerable<WindowLayer> Windows(Module m, int axis)
    {
        static int Pick((int H, int W) v, int axis) => axis == 0 ? v.H : v.W;
        switch (m)
        {
            case Conv2d c:
                yield return new WindowLayer(Pick(c.Kernel, axis), Pick(c.Options.Stride, axis), Pick(c.Options.Dilation, axis),
                    axis == 0 ? c.Options.Padding.Top : c.Options.Padding.Left);
                break;
            case Conv1d c:
                yield return new WindowLayer(c.Kernel, c.Options.Stride, c.Options.Dilation, c.Options.Padding.Left);
                break;
            case MaxPool2d p:
                yield return new WindowLayer(Pick(p.Options.Kernel, axis), Pick(p.Options.Stride ?? p.Options.Kernel, axis),
                    Pick(p.Options.Dilation, axis), Pick(p.Options.Padding, axis));
                break;
            case AvgPool2d p:
                yield return new WindowLayer(Pick(p.Options.Kernel, axis), Pick(p.Options.Stride ?? p.Options.Kernel, axis), 1, Pick(p.Options.Padding, axis));
                break;
            case MaxPool1d p:
                yield return new WindowLayer(p.Kernel, p.Stride, p.Dilation, p.Padding);
                break;
            case AvgPool1d p:
                yield return new WindowLayer(p.Kernel, p.Stride, 1, p.Padding);
                break;
            case BasicBlock b:
                yield return new WindowLayer(3, b.Stride, 1, 1);
                yield return new WindowLayer(3, 1, 1, 1);
                break;
            case Residual r when r.Body is Sequential body:
                foreach (var inner in body.Layers)
                    foreach (var w in Windows(inner, axis)) yield return w;
                break;
            default:
                break;
        }
    }

    private static Module Create(LayerSpec l, Shape input, Generator? g)
    {
        switch (l.Name)
        {
            case "conv":
            case "conv2d":
            case "conv1d":
                return CreateConv(l, input, g);
            case "convt":
            case "convtranspose":
            case "convtranspose2d":
                {
                    l.Expect(2, "s", "stride", "p", "padding", "op", "output_padding", "d", "dilation", "g", "groups", "bias");
                    RequireRank(l, input, 3, "C×H×W");
                    var f = Positive(l, l.Int(0, ["filters"], null, "number of filters"), "number of filters");
                    var k = Pair(l, l.Raw(1, ["k", "kernel"]) ?? throw l.Error("missing kernel size (argument 2)"), "kernel");
                    var s = Pair(l, l.Raw(-1, ["s", "stride"]) ?? "1", "stride");
                    var p = Pair(l, l.Raw(-1, ["p", "padding"]) ?? "0", "padding", allowZero: true);
                    var op = Pair(l, l.Raw(-1, ["op", "output_padding"]) ?? "0", "output_padding", allowZero: true);
                    var d = Pair(l, l.Raw(-1, ["d", "dilation"]) ?? "1", "dilation");
                    var groups = l.Int(-1, ["g", "groups"], 1, "groups");
                    return new ConvTranspose2d(input[0], f, k, new ConvTranspose2dOptions
                    {
                        Stride = s,
                        Padding = (p.Item1, p.Item1, p.Item2, p.Item2),
                        OutputPadding = op,
                        Dilation = d,
                        Groups = groups,
                    }, l.Bool(["bias"], true), g);
                }
            case "linear":
            case "fc":
            case "dense":
                {
                    l.Expect(1, "bias", "out", "features");
                    var n = Positive(l, l.Int(0, ["out", "features"], null, "number of output features"), "number of output features");
                    return new Linear(input[-1], n, l.Bool(["bias"], true), g);
                }
            case "maxpool":
            case "maxpool2d":
            case "maxpool1d":
                {
                    l.Expect(2, "s", "stride", "p", "padding", "d", "dilation", "ceil", "ceil_mode", "k", "kernel");
                    var k = Pair(l, l.Raw(0, ["k", "kernel"]) ?? throw l.Error("missing kernel size (argument 1)"), "kernel");
                    var s = l.Raw(1, ["s", "stride"]) is { } st ? Pair(l, st, "stride") : k;
                    var p = Pair(l, l.Raw(-1, ["p", "padding"]) ?? "0", "padding", allowZero: true);
                    var d = Pair(l, l.Raw(-1, ["d", "dilation"]) ?? "1", "dilation");
                    var ceil = l.Bool(["ceil", "ceil_mode"], false);
                    if (input.Rank == 2) return new MaxPool1d(k.Item1, s.Item1, p.Item1, d.Item1, ceil);
                    RequireRank(l, input, 3, "C×H×W or C×L");
                    return new MaxPool2d(new MaxPool2dOptions(k) { Stride = s, Padding = p, Dilation = d, CeilMode = ceil });
                }
            case "avgpool":
            case "avgpool2d":
            case "avgpool1d":
                {
                    l.Expect(2, "s", "stride", "p", "padding", "ceil", "ceil_mode", "include_pad", "count_include_pad", "k", "kernel");
                    var k = Pair(l, l.Raw(0, ["k", "kernel"]) ?? throw l.Error("missing kernel size (argument 1)"), "kernel");
                    var s = l.Raw(1, ["s", "stride"]) is { } st ? Pair(l, st, "stride") : k;
                    var p = Pair(l, l.Raw(-1, ["p", "padding"]) ?? "0", "padding", allowZero: true);
                    var ceil = l.Bool(["ceil", "ceil_mode"], false);
                    var include = l.Bool(["include_pad", "count_include_pad"], true);
                    if (input.Rank == 2) return new AvgPool1d(k.Item1, s.Item1, p.Item1, ceil, include);
                    RequireRank(l, input, 3, "C×H×W or C×L");
                    return new AvgPool2d(new AvgPool2dOptions(k) { Stride = s, Padding = p, CeilMode = ceil, CountIncludePad = include });
                }
            case "gap":
                l.Expect(0);
                RequireRank(l, input, 3, "C×H×W");
                return new AdaptiveAvgPool2d(1);
            case "adaptiveavgpool":
            case "adaptiveavgpool2d":
                l.Expect(1, "size");
                RequireRank(l, input, 3, "C×H×W");
                return new AdaptiveAvgPool2d(Pair(l, l.Raw(0, ["size"]) ?? "1", "output size"));
            case "bn":
            case "batchnorm":
                l.Expect(0, "eps", "momentum");
                if (input.Rank == 3) return new BatchNorm2d(input[0], l.Double(-1, ["eps"], 1e-5, "eps"), l.Double(-1, ["momentum"], 0.1, "momentum"));
                if (input.Rank is 1 or 2) return new BatchNorm1d(input[0], l.Double(-1, ["eps"], 1e-5, "eps"), l.Double(-1, ["momentum"], 0.1, "momentum"));
                throw l.Error($"batch norm needs a C×H×W, C×L or F input, found {input}");
            case "relu": l.Expect(0); return new ReLU();
            case "leakyrelu": l.Expect(1, "slope"); return new LeakyReLU(l.Double(0, ["slope"], 0.01, "negative slope"));
            case "gelu": l.Expect(0); return new GELU();
            case "tanh": l.Expect(0); return new Tanh();
            case "sigmoid": l.Expect(0); return new Sigmoid();
            case "softmax": l.Expect(0); return new Softmax(-1);
            case "dropout":
                {
                    l.Expect(1, "p");
                    return new Dropout(l.Double(0, ["p"], 0.5, "dropout probability"), g);
                }
            case "flatten": l.Expect(0); return new Flatten();
            case "res":
            case "residual":
                {
                    var nested = l.Arguments.Where(a => a.Layers is not null).ToList();
                    if (nested.Count != 1 || l.Arguments.Count != 1)
                        throw l.Error("expects one list of layers, e.g. res(conv(32,3,p=1) bn relu conv(32,3,p=1) bn)");
                    var body = new Sequential();
                    var shape = input;
                    foreach (var inner in nested[0].Layers!)
                    {
                        var m = Create(inner, shape, g);
                        shape = Probe(inner, m, shape);
                        body.Add(m);
                    }
                    if (shape != input)
                        throw l.Error($"the block maps {input} to {shape}; a residual block must keep the shape (use basic(F, s=S) for a projection)");
                    return new Residual(body);
                }
            case "basic":
            case "basicblock":
                {
                    l.Expect(1, "s", "stride");
                    RequireRank(l, input, 3, "C×H×W");
                    var planes = Positive(l, l.Int(0, [], null, "number of filters"), "number of filters");
                    return new BasicBlock(input[0], planes, Positive(l, l.Int(-1, ["s", "stride"], 1, "stride"), "stride"), g);
                }
            default:
                throw new LoomException($"spec: unknown layer '{l.Name}' at position {l.Position} (known: conv, convt, linear, maxpool, avgpool, gap, adaptiveavgpool, bn, relu, leakyrelu, gelu, tanh, sigmoid, softmax, dropout, flatten, res, basic)");
        }
    }

    private static Module CreateConv(LayerSpec l, Shape input, Generator? g)
    {
        l.Expect(2, "s", "stride", "p", "padding", "d", "dilation", "g", "groups", "bias", "k", "kernel", "filters");
        var f = Positive(l, l.Int(0, ["filters"], null, "number of filters"), "number of filters");
        var kText = l.Raw(1, ["k", "kernel"]) ?? throw l.Error("missing kernel size (argument 2)");
        var groups = Positive(l, l.Int(-1, ["g", "groups"], 1, "groups"), "groups");
        var bias = l.Bool(["bias"], true);
        var pText = l.Raw(-1, ["p", "padding"]) ?? "0";
        if (input.Rank == 2)
        {
            var k1 = Positive(l, ParseInt(l, kText, "kernel"), "kernel");
            var s1 = Positive(l, ParseInt(l, l.Raw(-1, ["s", "stride"]) ?? "1", "stride"), "stride");
            var d1 = Positive(l, ParseInt(l, l.Raw(-1, ["d", "dilation"]) ?? "1", "dilation"), "dilation");
            var pads1 = PaddingSpec.Parse(pText, 1, "padding").Resolve([k1], [d1], [s1], "conv1d", ["length"]);
            var pad1 = (pads1[0].Low, pads1[0].High);
            return new Conv1d(input[0], f, k1, new Conv1dOptions { Stride = s1, Padding = pad1, Dilation = d1, Groups = groups }, bias, g);
        }
        RequireRank(l, input, 3, "C×H×W or C×L");
        var k = Pair(l, kText, "kernel");
        var s = Pair(l, l.Raw(-1, ["s", "stride"]) ?? "1", "stride");
        var d = Pair(l, l.Raw(-1, ["d", "dilation"]) ?? "1", "dilation");
        var pads = PaddingSpec.Parse(pText, 2, "padding").Resolve([k.Item1, k.Item2], [d.Item1, d.Item2], [s.Item1, s.Item2], "conv2d", ["height", "width"]);
        var pad = (pads[0].Low, pads[0].High, pads[1].Low, pads[1].High);
        return new Conv2d(input[0], f, k, new Conv2dOptions { Stride = s, Padding = pad, Dilation = d, Groups = groups }, bias, g);
    }

    /// <summary>"3" → (3, 3); "3x5" → (3, 5).</summary>
    private static (int, int) Pair(LayerSpec l, string text, string what, bool allowZero = false)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is < 1 or > 2) throw l.Error($"{what} must be N or NxM, found '{text}'");
        var a = ParseInt(l, parts[0], what);
        var b = parts.Length == 2 ? ParseInt(l, parts[1], what) : a;
        if (a < 0 || b < 0 || (!allowZero && (a == 0 || b == 0)))
            throw l.Error($"{what} must be {(allowZero ? "non-negative" : "positive")}, found '{text}'");
        return (a, b);
    }

    private static int ParseInt(LayerSpec l, string text, string what)
    {
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw l.Error($"{what} must be an integer, found '{text}'");
        return v;
    }

    private static int Positive(LayerSpec l, int v, string what) => v > 0 ? v : throw l.Error($"{what} must be positive, found {v}");

    private static void RequireRank(LayerSpec l, Shape input, int rank, string expected)
    {
        if (input.Rank != rank) throw l.Error($"needs a {expected} input, found {input}");
    }
}
