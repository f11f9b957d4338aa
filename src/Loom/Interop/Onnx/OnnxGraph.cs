using System.Runtime.InteropServices;
using Google.Protobuf;
using Loom.Interop.Onnx.Proto;

namespace Loom.Interop.Onnx;

/// <summary>
/// Collects the nodes and initializers of one ONNX graph while the exporter walks a model: hands out unique value
/// names (scoped by the module's state-dict path, as PyTorch's exporter does), stores weights as float32
/// <c>raw_data</c>, and builds attributes by type.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GraphProto Proto { get; } = new();

    /// <summary>A value name not used before: <paramref name="hint"/>, or <paramref name="hint"/>_1, _2…</summary>
    public string Fresh(string hint)
    {
        var name = hint;
        for (var i = 1; !_names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    /// <summary>Adds a float32 initializer (a weight or a constant) and returns its name.</summary>
    public string Initializer(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        var t = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        // raw_data is little-endian by the spec; every platform .NET runs Loom on is little-endian.
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        Proto.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a float32 initializer holding a tensor's values (float64 tensors are rounded to float32).</summary>
    public string Initializer(string hint, Tensor tensor) =>
        Initializer(hint, tensor.ToArray(), [.. tensor.Shape.Dims.ToArray().Select(d => (long)d)]);

    /// <summary>A float32 scalar constant (rank 0), broadcast by the elementwise ops.</summary>
    public string Scalar(string hint, float value) => Initializer(hint, [value]);

    /// <summary>Adds an int64 initializer (Reshape's shape, Gather's index); a scalar when <paramref name="dims"/> is empty.</summary>
    public string Int64Initializer(string hint, long[] values, params long[] dims)
    {
        var t = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        Proto.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node with one output named after <paramref name="scope"/> and the op; returns the output's name.</summary>
    public string Node(string opType, string scope, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        NodeMulti(opType, scope, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs; returns their names.</summary>
    public string[] NodeMulti(string opType, string scope, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var prefix = scope.Length == 0 ? opType : $"{scope}/{opType}";
        var node = new NodeProto { OpType = opType, Name = Fresh(prefix) };
        node.Input.AddRange(inputs);
        var names = new string[outputs];
        for (var i = 0; i < outputs; i++) names[i] = Fresh(outputs == 1 ? $"{node.Name}_output" : $"{node.Name}_output{i}");
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        Proto.Node.Add(node);
        return names;
    }

    /// <summary>Renames a node output (used to give the graph's result the public name <c>output</c>).</summary>
    public bool RenameOutput(string from, string to)
    {
        foreach (var node in Proto.Node)
        {
            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i] != from) continue;
                node.Output[i] = to;
                _names.Add(to);
                return true;
            }
        }
        return false;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, double value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Strings(string name, params string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }

    /// <summary>A float32 tensor type whose dimensions are numbers or symbolic names (<c>batch</c>, <c>sequence</c>).</summary>
    public static ValueInfoProto FloatValue(string name, IEnumerable<object> dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                _ => throw new ArgumentException($"dimension {d} is neither a name nor an int", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
