using Loom.Interop.Onnx;
using Loom.Nn;
using Microsoft.ML.OnnxRuntime;

namespace Loom.Tests.Interop;

/// <summary>
/// Checks an exported ONNX file twice, independently of Loom: Debian's <c>python3-onnx</c> validates it
/// (<c>onnx.checker.check_model(path, full_check=True)</c>, which also runs ONNX's shape inference), and ONNX Runtime
/// runs it on inputs of several batch sizes; its outputs must equal Loom's own within <see cref="Tolerance"/>.
/// </summary>
internal static class OnnxCheck
{
    public const double Tolerance = 1e-4;

    private const string OnnxChecker = "/usr/lib/python3/dist-packages/onnx/checker.py";

    /// <summary>Exports <paramref name="model"/>, checks the file and compares ORT with Loom on each input; returns the worst difference.</summary>
    public static double ExportAndCompare(Module model, Shape sampleShape, string path, params Tensor[] inputs)
    {
        OnnxExporter.Export(model, sampleShape, path);
        Checker(path);
        return Compare(model, path, inputs);
    }

    /// <summary>Runs <c>onnx.checker.check_model(path, full_check=True)</c>; skips (fails under CI) without python3-onnx.</summary>
    public static void Checker(string path)
    {
        Requirements.DebianPackage("python3-onnx", OnnxChecker);
        var output = TorchPython.RunOrFail("-c",
            "import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True); m = onnx.load(sys.argv[1]); print('checked opset', m.opset_import[0].version)",
            path);
        Assert.Contains($"checked opset {OnnxExporter.Opset}", output, StringComparison.Ordinal);
    }

    /// <summary>Runs the file in ONNX Runtime on each input and asserts the outputs equal Loom's (evaluation mode).</summary>
    public static double Compare(Module model, string path, params Tensor[] inputs)
    {
        model.Eval();
        using var session = new InferenceSession(path);
        var worst = 0.0;
        foreach (var input in inputs)
        {
            (model as IStatefulModel)?.ResetState();
            var expected = model.Forward(input);
            var (actual, shape) = Run(session, input);
            Assert.Equal(expected.Shape.ToArray(), shape);
            var e = expected.ToArray();
            Assert.Equal(e.Length, actual.Length);
            for (var i = 0; i < e.Length; i++)
            {
                var diff = Math.Abs(e[i] - actual[i]);
                Assert.True(diff <= Tolerance, $"input {input.Shape}: output {i} is {actual[i]} in ONNX Runtime, {e[i]} in Loom (|diff| {diff:g3})");
                worst = Math.Max(worst, diff);
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{model.TypeName}: worst |ONNX Runtime − Loom| = {worst:g3} over inputs {string.Join(", ", inputs.Select(i => i.Shape))}");
        return worst;
    }

    /// <summary>One ORT run of the graph input <c>input</c>; returns <c>output</c>'s values and shape.</summary>
    public static (float[] Values, int[] Shape) Run(InferenceSession session, Tensor input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray(), [.. input.Shape.ToArray().Select(d => (long)d)]);
        using var options = new RunOptions();
        using var outputs = session.Run(options, [OnnxExporter.InputName], [value], [OnnxExporter.OutputName]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray();
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), shape);
    }

    /// <summary>Gives every batch norm non-trivial running statistics and affine parameters, so the export of them is tested.</summary>
    public static void RandomizeBatchNorms(Module model, Generator g)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNormBase bn) continue;
            var s = bn.StateDict();
            var n = new Shape(bn.NumFeatures);
            s["running_mean"].CopyFrom(Tensor.Uniform(n, -0.5, 0.5, g));
            s["running_var"].CopyFrom(Tensor.Uniform(n, 0.5, 2, g));
            if (!bn.Affine) continue;
            s["weight"].CopyFrom(Tensor.Uniform(n, 0.5, 1.5, g));
            s["bias"].CopyFrom(Tensor.Uniform(n, -0.5, 0.5, g));
        }
    }
}
