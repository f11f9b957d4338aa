using Loom.Nn;
using static Loom.Interop.Onnx.OnnxGraph;

namespace Loom.Interop.Onnx;

/// <summary>
/// A Loom (PyTorch-layout) LSTM/GRU/RNN stack as ONNX LSTM/GRU/RNN nodes, one per layer.
/// </summary>
/// <remarks>
/// What differs between the two layouts, and how it is converted:
/// <list type="bullet">
/// <item>Gate order. PyTorch stacks the LSTM's gates as i, f, g, o and ONNX as i, o, f, c (c is PyTorch's g); the
/// GRU's as r, z, n in PyTorch and z, r, h in ONNX. The exporter permutes the row blocks of every weight and bias
/// (<see cref="LstmGates"/>, <see cref="GruGates"/>).</item>
/// <item>The GRU's candidate: PyTorch computes n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)), the reset gate applied
/// after the recurrent product, which is ONNX's <c>linear_before_reset = 1</c>.</item>
/// <item>Weights: W is [directions, gates·H, input], R is [directions, gates·H, H], B is [directions, 2·gates·H] with
/// the input bias (Wb) then the recurrent bias (Rb): PyTorch's per-direction <c>weight_ih_l{k}</c>,
/// <c>weight_hh_l{k}</c> and <c>bias_ih_l{k}</c> ++ <c>bias_hh_l{k}</c>, forward direction first.</item>
/// <item>Layout: ONNX Runtime runs only <c>layout = 0</c> (time first; its CPU kernels reject 1 with "Batchwise
/// recurrent operations (layout == 1) are not supported"), so the batch-first input is transposed to
/// [T, B, F] once, and each layer's Y [T, directions, B, H] is transposed and reshaped to [T, B, directions·H], the
/// input of the next layer (PyTorch concatenates the directions' outputs the same way).</item>
/// </list>
/// Sequences start from zero states (no <c>initial_h</c>/<c>initial_c</c>) and all have full length (no
/// <c>sequence_lens</c>), as in Loom's forward without a state.
/// </remarks>
internal sealed class OnnxRecurrent(OnnxGraph graph)
{
    /// <summary>For each ONNX gate block (i, o, f, c), the PyTorch block it comes from (i, f, g, o).</summary>
    internal static readonly int[] LstmGates = [0, 3, 1, 2];

    /// <summary>For each ONNX gate block (z, r, h), the PyTorch block it comes from (r, z, n).</summary>
    internal static readonly int[] GruGates = [1, 0, 2];

    /// <summary>Emits the stack for a batch-first input [B, T, F]; returns the time-first output [T, B, directions·H].</summary>
    public string Emit(RecurrentLayer r, string input, string scope)
    {
        if (!r.BatchFirst)
            throw new LoomException($"onnx export: {OnnxModuleEmitter.Describe(r, scope)} is not batch-first; the exporter's inputs are [batch, sequence, features]");
        var (op, gates) = r switch
        {
            Lstm => ("LSTM", LstmGates),
            Gru => ("GRU", GruGates),
            Rnn => ("RNN", [0]),
            _ => throw new LoomException($"onnx export: {OnnxModuleEmitter.Describe(r, scope)} has no ONNX equivalent"),
        };
        var dirs = r.Directions;
        var h = r.HiddenSize;
        var x = graph.Node("Transpose", scope, [input], Ints("perm", 1, 0, 2));
        for (var layer = 0; layer < r.NumLayers; layer++)
        {
            var inSize = layer == 0 ? r.InputSize : dirs * h;
            var w = new List<float>();
            var rw = new List<float>();
            var b = new List<float>();
            for (var d = 0; d < dirs; d++)
            {
                var reverse = d == 1;
                w.AddRange(Reorder(r.WeightIh(layer, reverse), gates, h));
                rw.AddRange(Reorder(r.WeightHh(layer, reverse), gates, h));
                if (r.BiasIh(layer, reverse) is { } bih && r.BiasHh(layer, reverse) is { } bhh)
                {
                    b.AddRange(Reorder(bih, gates, h));
                    b.AddRange(Reorder(bhh, gates, h));
                }
            }
            var g = gates.Length * h;
            var suffix = $"l{layer}";
            List<string> inputs =
            [
                x,
                graph.Initializer(Join(scope, $"W_{suffix}"), w.ToArray(), dirs, g, inSize),
                graph.Initializer(Join(scope, $"R_{suffix}"), rw.ToArray(), dirs, g, h),
            ];
            if (b.Count > 0) inputs.Add(graph.Initializer(Join(scope, $"B_{suffix}"), b.ToArray(), dirs, 2 * g));
            List<Proto.AttributeProto> attributes =
            [
                Int("hidden_size", h),
                String("direction", dirs == 2 ? "bidirectional" : "forward"),
            ];
            if (r is Gru) attributes.Add(Int("linear_before_reset", 1));
            if (r is Rnn rnn)
            {
                var act = rnn.Nonlinearity == RnnNonlinearity.Relu ? "Relu" : "Tanh";
                attributes.Add(Strings("activations", [.. Enumerable.Repeat(act, dirs)]));
            }
            // Only Y (all steps, [T, directions, B, H]); Y_h and Y_c are not needed by a classifier.
            var y = graph.Node(op, Join(scope, suffix), inputs, [.. attributes]);
            var tbdh = graph.Node("Transpose", scope, [y], Ints("perm", 0, 2, 1, 3));
            x = graph.Node("Reshape", scope, [tbdh, graph.Int64Initializer(Join(scope, "shape"), [0, 0, -1], 3)]);
        }
        return x;
    }

    // Rows of a [gates·H, …] weight (or [gates·H] bias) with the gate blocks in ONNX's order.
    private static float[] Reorder(Tensor t, int[] gates, int h)
    {
        var src = t.ToArray();
        var block = h * (src.Length / (gates.Length * h));
        var dst = new float[src.Length];
        for (var k = 0; k < gates.Length; k++) Array.Copy(src, gates[k] * block, dst, k * block, block);
        return dst;
    }

    private static string Join(string scope, string name) => OnnxModuleEmitter.Join(scope, name);
}
