using System.Diagnostics;
using System.Text.Json;
using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>
/// Rnn, Lstm and Gru (and the gated RNN and AttentionRNN(k)) agree with PyTorch on the recorded cases of
/// tests/reference/rnn_reference.py: outputs, final states and the gradients of the input, the initial states and every
/// parameter for a random upstream gradient. float32 within 1e-4·(1 + |ref|), float64 within 1e-6·(1 + |ref|) (the
/// stored float32 references round the float64 truth).
/// </summary>
public class RecurrentReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<DType, RecurrentImplementation> Modes => new()
    {
        { DType.Float32, RecurrentImplementation.Fused },
        { DType.Float64, RecurrentImplementation.Fused },
        { DType.Float64, RecurrentImplementation.Composed },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void LayersAgreeWithPyTorch(DType dtype, RecurrentImplementation implementation)
    {
        var file = ReferenceFile.Load(Path.Combine(ReferenceFile.Dir, "rnn.safetensors"));
        Assert.True(file.Count >= 100, $"only {file.Count} recorded cases");
        var worst = ReplayLayers(file, dtype, implementation, dtype == DType.Float32 ? 1e-4 : 1e-6);
        output.WriteLine($"{file.Count} cases, {dtype.TorchName()} {implementation}: max |Δ|/(1+|ref|) = {worst:E2}");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void GatedAndAttentionRnnAgreeWithPyTorch(DType dtype)
    {
        var file = ReferenceFile.Load(Path.Combine(ReferenceFile.Dir, "gated.safetensors"));
        var worst = ReplaySequenceModels(file, dtype, dtype == DType.Float32 ? 1e-4 : 1e-6);
        output.WriteLine($"{file.Count} cases, {dtype.TorchName()}: max |Δ|/(1+|ref|) = {worst:E2}");
    }

    /// <summary>Fresh cases with a new seed each run (CI has PyTorch; elsewhere the test skips when it is missing).</summary>
    [Fact]
    public async Task FreshlyGeneratedCasesAgreeWithPyTorch()
    {
        Requirements.DebianPackage("python3-torch", "/usr/lib/python3/dist-packages/torch");
        var seed = Environment.TickCount64 % 100_000;
        var dir = Path.Combine(Path.GetTempPath(), $"loom-rnn-ref-{Environment.ProcessId}-{seed}");
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3", [ReferenceFile.Script, "--seed", seed.ToString(), "--out", dir, "--count", "40", "--sequence-count", "3"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(process.ExitCode == 0, $"rnn_reference.py --seed {seed} failed: {await stderr}");
            var worst = ReplayLayers(ReferenceFile.Load(Path.Combine(dir, "rnn.safetensors")), DType.Float32, RecurrentImplementation.Fused, 1e-4);
            worst = Math.Max(worst, ReplaySequenceModels(ReferenceFile.Load(Path.Combine(dir, "gated.safetensors")), DType.Float32, 1e-4));
            output.WriteLine($"seed {seed}: max |Δ|/(1+|ref|) = {worst:E2}");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static double ReplayLayers(ReferenceFile file, DType dtype, RecurrentImplementation implementation, double tol)
    {
        var worst = 0.0;
        for (var i = 0; i < file.Count; i++)
        {
            var cfg = file.Config(i);
            var t = file.Case(i);
            var options = new RecurrentOptions(cfg.GetProperty("input_size").GetInt32(), cfg.GetProperty("hidden_size").GetInt32())
            {
                NumLayers = cfg.GetProperty("num_layers").GetInt32(),
                Bias = cfg.GetProperty("bias").GetBoolean(),
                BatchFirst = cfg.GetProperty("batch_first").GetBoolean(),
                Bidirectional = cfg.GetProperty("bidirectional").GetBoolean(),
            };
            RecurrentLayer layer = cfg.GetProperty("mode").GetString() switch
            {
                "lstm" => new Lstm(options),
                "gru" => new Gru(options),
                "rnn_relu" => new Rnn(options, RnnNonlinearity.Relu),
                _ => new Rnn(options),
            };
            layer.To(dtype);
            layer.Implementation = implementation;
            worst = Math.Max(worst, Replay(layer, $"case {i} {cfg}", t, dtype, tol, (x, state, lengths) => layer.Forward(x, state, lengths)));
        }
        return worst;
    }

    private static double ReplaySequenceModels(ReferenceFile file, DType dtype, double tol)
    {
        var worst = 0.0;
        for (var i = 0; i < file.Count; i++)
        {
            var cfg = file.Config(i);
            var (input, hidden, batchFirst) = (cfg.GetProperty("input_size").GetInt32(), cfg.GetProperty("hidden_size").GetInt32(), cfg.GetProperty("batch_first").GetBoolean());
            IRecurrent model = cfg.GetProperty("model").GetString() == "gated_rnn"
                ? new GatedRnn(input, hidden, batchFirst)
                : new AttentionRnn(input, hidden, AttentionK(cfg.GetProperty("k")), batchFirst);
            var module = (Module)model;
            module.To(dtype);
            worst = Math.Max(worst, Replay(module, $"case {i} {cfg}", file.Case(i), dtype, tol, model.Forward));
        }
        return worst;
    }

    private static int AttentionK(JsonElement k) => k.ValueKind == JsonValueKind.String ? AttentionRnn.Infinite : k.GetInt32();

    /// <summary>Loads the recorded parameters, runs forward and backward, compares everything; returns the worst relative error.</summary>
    private static double Replay(Module module, string label, Dictionary<string, Tensor> t, DType dtype, double tol,
        Func<Tensor, RecurrentState?, int[]?, RecurrentOutput> forward)
    {
        var parameters = module.StateDict().Keys.ToDictionary(k => k, k => t[k]);
        module.LoadStateDict(parameters);
        var x = t["x"].To(dtype).Clone().RequiresGrad_();
        var h0 = t.TryGetValue("h0", out var h) ? h.To(dtype).Clone().RequiresGrad_() : null;
        var c0 = t.TryGetValue("c0", out var c) ? c.To(dtype).Clone().RequiresGrad_() : null;
        var lengths = t.TryGetValue("lengths", out var l) ? l.ToIntArray() : null;
        var result = forward(x, h0 is null ? null : new RecurrentState(h0, c0), lengths);

        var worst = 0.0;
        worst = Math.Max(worst, Compare(result.Output, t["output"], tol, label + " output"));
        worst = Math.Max(worst, Compare(result.H, t["h_n"], tol, label + " h_n"));
        if (t.TryGetValue("c_n", out var cn)) worst = Math.Max(worst, Compare(result.C!, cn, tol, label + " c_n"));

        var loss = Functional.Sum(Functional.Mul(result.Output, t["grad_output"].To(dtype)));
        loss = Functional.Add(loss, Functional.Sum(Functional.Mul(result.H, t["grad_h_n"].To(dtype))));
        if (result.C is not null) loss = Functional.Add(loss, Functional.Sum(Functional.Mul(result.C, t["grad_c_n"].To(dtype))));
        loss.Backward();
        worst = Math.Max(worst, Compare(x.Grad!, t["grad_x"], tol, label + " grad x"));
        if (h0 is not null) worst = Math.Max(worst, Compare(h0.Grad!, t["grad_h0"], tol, label + " grad h0"));
        if (c0 is not null) worst = Math.Max(worst, Compare(c0.Grad!, t["grad_c0"], tol, label + " grad c0"));
        foreach (var (name, p) in module.NamedParameters())
            worst = Math.Max(worst, Compare(p.Grad ?? Tensor.ZerosLike(p), t["grad." + name], tol, label + " grad " + name));
        return worst;
    }

    private static double Compare(Tensor actual, Tensor expected, double tol, string what)
    {
        Assert.True(actual.Shape == expected.Shape, $"{what}: shape {actual.Shape}, PyTorch {expected.Shape}");
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        var worst = 0.0;
        for (var i = 0; i < e.Length; i++)
        {
            var err = Math.Abs(a[i] - e[i]) / (1 + Math.Abs(e[i]));
            Assert.True(err <= tol, $"{what}[{i}]: Loom {a[i]}, PyTorch {e[i]}");
            worst = Math.Max(worst, err);
        }
        return worst;
    }
}
