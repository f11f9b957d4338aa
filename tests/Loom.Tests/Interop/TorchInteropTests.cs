using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Loom.Data;
using Loom.Interop;
using Loom.Nn;
using Loom.Nn.Spec;
using Loom.Optim;

namespace Loom.Tests.Interop;

/// <summary>
/// State dicts move between Loom and Debian's PyTorch unchanged, both ways: a model trained in Loom loads into the
/// equivalent <c>torch.nn.Sequential</c> (tools/torch_spec.py) with <c>strict=True</c> and predicts the same; a model
/// trained in PyTorch (Conv + BatchNorm + Linear, torch's keys and dtypes) loads into Loom with strict keys and gives
/// PyTorch's outputs within 1e-5. The scripts: tests/reference/torch_interop.py.
/// </summary>
public class TorchInteropTests
{
    private static string Script => TorchPython.RepoPath("tests", "reference", "torch_interop.py");

    /// <summary>
    /// The first <see cref="TestImages"/> digits test images (class-balanced: the split interleaves the classes). Loom's
    /// tests run unoptimised (Debug) and on busy machines, so training is short: a few steps lift the accuracy well
    /// above chance, which is all the comparison needs.
    /// </summary>
    private const int TestImages = 100;

    /// <summary>
    /// Loom → PyTorch: smallcnn and a model with BatchNorm (2-D and 1-D), a BasicBlock with projection, per-side
    /// padding and Dropout, trained a few steps on digits, saved as model.safetensors, load into torch with
    /// strict=True; every prediction (argmax) is the same and the logits agree within 1e-4·(1 + |ref|).
    /// </summary>
    [Fact]
    public void LoomTrainedModelsLoadIntoTorchSequentialStrictlyAndPredictTheSame() => LoomToTorch(TestImages, minAccuracy: 0.25,
        ("smallcnn", Presets.Resolve("smallcnn", 10), 5),
        ("bn-residual", "conv(8,3,p=1) bn relu maxpool(2) basic(16,s=2) conv(16,3,p=[0,1,1,0]) bn relu flatten linear(32) bn relu dropout(0.2) linear(10)", 12));

    /// <summary>
    /// The acceptance run at full size (explicit: minutes in Debug): smallcnn trained one epoch (500 steps of 16) on
    /// the digits, then all 2,000 test images: PyTorch's accuracy equals Loom's, every prediction the same.
    /// <c>dotnet test tests/Loom.Tests -- --explicit only --filter-method *SmallCnnTrainedOneEpoch*</c>
    /// </summary>
    [Fact(Explicit = true)]
    public void SmallCnnTrainedOneEpochHasTheSameTestAccuracyInTorch() => LoomToTorch(2000, minAccuracy: 0.9,
        ("smallcnn", Presets.Resolve("smallcnn", 10), 500));

    private static void LoomToTorch(int testImages, double minAccuracy, params (string Name, string Spec, int Steps)[] models)
    {
        TorchPython.Require();
        var splits = Datasets.Digits().Normalized();
        var test = splits.Test.Gather([.. Enumerable.Range(0, testImages)]);
        var dir = Directory.CreateTempSubdirectory("loom-to-torch-");
        try
        {
            var jobs = new List<Dictionary<string, object>>();
            var loomLogits = new List<Tensor>();
            foreach (var (name, spec, steps) in models)
            {
                Rng.ManualSeed(1);
                var model = ModelBuilder.Build(spec, splits.Train.ImageShape).Model;
                Train(model, splits.Train, steps);
                model.Eval();
                loomLogits.Add(Evaluate(model, test.Images));
                var modelPath = Path.Combine(dir.FullName, name + ".safetensors");
                Safetensors.Save(modelPath, model.StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
                jobs.Add(new()
                {
                    ["spec"] = spec,
                    ["input"] = splits.Train.ImageShape.Dims.ToArray(),
                    ["model"] = modelPath,
                    ["data"] = Path.Combine(dir.FullName, "test.safetensors"),
                    ["out"] = Path.Combine(dir.FullName, name + ".torch.safetensors"),
                });
            }
            Safetensors.Save(Path.Combine(dir.FullName, "test.safetensors"), new Dictionary<string, Tensor> { ["x"] = test.Images });
            var manifest = Path.Combine(dir.FullName, "jobs.json");
            File.WriteAllText(manifest, JsonSerializer.Serialize(jobs));
            var output = TorchPython.RunOrFail(Script, "predict", manifest);
            TestContext.Current.TestOutputHelper?.WriteLine(output.Trim());

            var labels = test.Labels.ToIntArray();
            for (var m = 0; m < models.Length; m++)
            {
                var (name, _, steps) = models[m];
                var loom = loomLogits[m];
                var torch = Safetensors.Load((string)jobs[m]["out"]).Tensors["logits"];
                Assert.Equal(loom.Shape, torch.Shape);
                var (loomClass, torchClass) = (ArgMax(loom), ArgMax(torch));
                var disagree = Enumerable.Range(0, labels.Length).Count(i => loomClass[i] != torchClass[i]);
                var maxDiff = MaxScaledDiff(loom, torch, out var worst);
                var accuracy = Enumerable.Range(0, labels.Length).Count(i => loomClass[i] == labels[i]) / (double)labels.Length;
                var torchAccuracy = Enumerable.Range(0, labels.Length).Count(i => torchClass[i] == labels[i]) / (double)labels.Length;
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"{name}: test accuracy Loom {accuracy:F4}, PyTorch {torchAccuracy:F4}; {disagree} of {labels.Length} predictions differ; max |Δlogit| {worst:E2}");
                Assert.Equal(0, disagree);
                Assert.Equal(accuracy, torchAccuracy);
                Assert.True(maxDiff <= 1e-4, $"{name}: logits differ by {worst} (> 1e-4·(1 + |ref|))");
                Assert.True(accuracy > minAccuracy, $"{name}: {steps} training steps reached only {accuracy:F3}; the comparison needs a trained model");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>PyTorch → Loom: Conv, BatchNorm (2-D and 1-D, with running statistics), a BasicBlock and Linear.</summary>
    [Fact]
    public void TorchTrainedStateDictLoadsIntoLoomAndGivesTorchOutputs()
    {
        TorchPython.Require();
        const string spec = "conv(8,3,p=1) bn relu maxpool(2) basic(16,s=2) conv(16,3,p=[1,0,0,1]) bn relu gap flatten linear(24) bn relu linear(10)";
        const int steps = 6;
        var dir = Directory.CreateTempSubdirectory("torch-to-loom-");
        try
        {
            TorchPython.RunOrFail(Script, "export", "--spec", spec, "--input", "3x12x12", "--steps", steps.ToString(CultureInfo.InvariantCulture),
                "--seed", "3", "--out", dir.FullName);
            // As a PyTorch user would: torch.save(state_dict) → model.pt → the shipped converter → model.safetensors.
            var modelPath = ConvertWithTheShippedTool(dir.FullName);
            var dtypes = HeaderDTypes(modelPath);
            Assert.Equal("I64", dtypes["1.num_batches_tracked"]);
            Assert.Equal("I64", dtypes["4.downsample.1.num_batches_tracked"]);
            Assert.Equal("F32", dtypes["0.weight"]);

            var (state, _) = Safetensors.Load(modelPath);
            var model = ModelBuilder.Build(spec, new Shape(3, 12, 12)).Model;
            // The same keys in the same order as PyTorch's state_dict().
            Assert.Equal(TorchKeys(dir.FullName), model.StateDict().Keys);
            model.LoadStateDict(modelPath, strict: true);
            model.Eval();
            Assert.Equal(steps, (int)model.StateDict()["1.num_batches_tracked"].Item());
            Assert.NotEqual(0.0, model.StateDict()["11.running_mean"].ToDoubleArray().Select(Math.Abs).Max());

            var data = Safetensors.Load(Path.Combine(dir.FullName, "data.safetensors")).Tensors;
            Tensor y;
            using (global::Loom.Autograd.NoGrad()) y = model.Forward(data["x"]);
            var expected = data["y"];
            Assert.Equal(expected.Shape, y.Shape);
            var (a, e) = (y.ToDoubleArray(), expected.ToDoubleArray());
            var worst = a.Zip(e, (u, v) => Math.Abs(u - v)).Max();
            TestContext.Current.TestOutputHelper?.WriteLine($"{spec}: {state.Count} keys, max |Loom − PyTorch| {worst:E2} over {a.Length} outputs");
            Assert.True(worst <= 1e-5, $"outputs differ by {worst} (> 1e-5)");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static TheoryData<string, int, bool> RecurrentClassifiers => new()
    {
        { "lstm", 2, true },
        { "gru", 2, true },
        { "lstm", 1, false },
        { "gru", 3, false },
        { "rnn", 2, true },
    };

    /// <summary>
    /// PyTorch → Loom for recurrent classifiers (nn.LSTM / nn.GRU / nn.RNN, multi-layer, bidirectional, batch-first,
    /// with a Linear head on the last step): trained in PyTorch, saved with torch.save, converted by
    /// tools/torch_to_safetensors.py, loaded strictly into Loom's SequenceClassifier: outputs within 1e-5.
    /// </summary>
    [Theory]
    [MemberData(nameof(RecurrentClassifiers))]
    public void TorchTrainedRecurrentClassifierLoadsIntoLoomAndGivesTorchOutputs(string kind, int layers, bool bidirectional)
    {
        TorchPython.Require();
        var dir = Directory.CreateTempSubdirectory("torch-rnn-to-loom-");
        try
        {
            string[] args = ["rnn-export", "--kind", kind, "--input", "3", "--hidden", "5", "--layers", layers.ToString(CultureInfo.InvariantCulture),
                "--classes", "4", "--length", "6", "--steps", "5", "--seed", "7", "--out", dir.FullName];
            TorchPython.RunOrFail([Script, .. args, .. bidirectional ? new[] { "--bidirectional" } : []]);
            var modelPath = ConvertWithTheShippedTool(dir.FullName);

            var model = RecurrentClassifier(kind, layers, bidirectional);
            Assert.Equal(TorchKeys(dir.FullName), model.StateDict().Keys);
            model.LoadStateDict(modelPath, strict: true);
            model.Eval();
            var data = Safetensors.Load(Path.Combine(dir.FullName, "data.safetensors")).Tensors;
            Tensor y;
            using (global::Loom.Autograd.NoGrad()) y = model.Forward(data["x"]);
            Assert.Equal(data["y"].Shape, y.Shape);
            var worst = y.ToDoubleArray().Zip(data["y"].ToDoubleArray(), (u, v) => Math.Abs(u - v)).Max();
            TestContext.Current.TestOutputHelper?.WriteLine($"{kind} layers {layers} bidirectional {bidirectional}: max |Loom − PyTorch| {worst:E2}");
            Assert.True(worst <= 1e-5, $"outputs differ by {worst} (> 1e-5)");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Loom → PyTorch for the same recurrent classifiers: trained a few steps in Loom, saved as safetensors, loaded by
    /// the equivalent torch module with strict=True: outputs within 1e-5.
    /// </summary>
    [Fact]
    public void LoomTrainedRecurrentClassifiersLoadIntoTorchStrictlyAndGiveLoomOutputs()
    {
        TorchPython.Require();
        var dir = Directory.CreateTempSubdirectory("loom-rnn-to-torch-");
        try
        {
            var generator = new Generator(11);
            var x = Tensor.Randn(new Shape(8, 6, 3), generator);
            Safetensors.Save(Path.Combine(dir.FullName, "data.safetensors"), new Dictionary<string, Tensor> { ["x"] = x });
            var jobs = new List<Dictionary<string, object>>();
            var outputs = new List<Tensor>();
            foreach (var (kind, layers, bidirectional) in new[] { ("lstm", 2, true), ("gru", 2, true), ("rnn", 1, false) })
            {
                Rng.ManualSeed(5);
                var model = RecurrentClassifier(kind, layers, bidirectional);
                var optimiser = new Adam(model.Parameters(), new AdamOptions { Lr = 1e-2 });
                for (var step = 0; step < 4; step++)
                {
                    var loss = Functional.CrossEntropy(model.Forward(Tensor.Randn(new Shape(16, 6, 3), generator)),
                        Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (i * 7 + step) % 4).ToArray(), 16));
                    optimiser.ZeroGrad();
                    loss.Backward();
                    optimiser.Step();
                }
                model.Eval();
                using (global::Loom.Autograd.NoGrad()) outputs.Add(model.Forward(x));
                var name = $"{kind}-{layers}-{bidirectional}";
                Safetensors.Save(Path.Combine(dir.FullName, name + ".safetensors"), model.StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
                jobs.Add(new()
                {
                    ["kind"] = kind,
                    ["input"] = 3,
                    ["hidden"] = 5,
                    ["layers"] = layers,
                    ["bidirectional"] = bidirectional,
                    ["classes"] = 4,
                    ["model"] = Path.Combine(dir.FullName, name + ".safetensors"),
                    ["data"] = Path.Combine(dir.FullName, "data.safetensors"),
                    ["out"] = Path.Combine(dir.FullName, name + ".torch.safetensors"),
                });
            }
            var manifest = Path.Combine(dir.FullName, "jobs.json");
            File.WriteAllText(manifest, JsonSerializer.Serialize(jobs));
            TestContext.Current.TestOutputHelper?.WriteLine(TorchPython.RunOrFail(Script, "rnn-predict", manifest).Trim());
            for (var i = 0; i < jobs.Count; i++)
            {
                var torch = Safetensors.Load((string)jobs[i]["out"]).Tensors["logits"];
                Assert.Equal(outputs[i].Shape, torch.Shape);
                var worst = outputs[i].ToDoubleArray().Zip(torch.ToDoubleArray(), (u, v) => Math.Abs(u - v)).Max();
                TestContext.Current.TestOutputHelper?.WriteLine($"{jobs[i]["model"]}: max |Loom − PyTorch| {worst:E2}");
                Assert.True(worst <= 1e-5, $"{jobs[i]["kind"]}: outputs differ by {worst} (> 1e-5)");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Loom's SequenceClassifier of the torch side's shape: input 3, hidden 5, 4 classes, batch-first.</summary>
    private static SequenceClassifier RecurrentClassifier(string kind, int layers, bool bidirectional)
    {
        var options = new RecurrentOptions(3, 5) { NumLayers = layers, Bidirectional = bidirectional, BatchFirst = true };
        Module rnn = kind switch
        {
            "lstm" => new Lstm(options),
            "gru" => new Gru(options),
            _ => new Rnn(options),
        };
        return new SequenceClassifier(rnn, 4);
    }

    /// <summary>Runs tools/torch_to_safetensors.py on DIR/model.pt; returns DIR/model.safetensors.</summary>
    private static string ConvertWithTheShippedTool(string dir)
    {
        var target = Path.Combine(dir, "model.safetensors");
        var output = TorchPython.RunOrFail(TorchPython.RepoPath("tools", "torch_to_safetensors.py"), Path.Combine(dir, "model.pt"), target);
        Assert.StartsWith("wrote ", output, StringComparison.Ordinal);
        return target;
    }

    /// <summary>PyTorch's state_dict() keys in order, as the export wrote them to keys.json.</summary>
    private static string[] TorchKeys(string dir) => JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(dir, "keys.json")))!;

    /// <summary>
    /// Every preset (and specs using each layer kind) has exactly the keys, shapes and order of the torch.nn.Sequential
    /// that tools/torch_spec.py builds; num_batches_tracked is int64 there and int32 in Loom.
    /// </summary>
    [Fact]
    public void PresetsAndLayerKindsHaveTorchSequentialKeysShapesAndOrder()
    {
        TorchPython.Require();
        var specs = Presets.All.Keys.Select(p => (Spec: Presets.Resolve(p, 10), Input: new[] { 1, 28, 28 })).Concat(
        [
            (Spec: "conv(4,3,p=[0,1,2,0],g=2,bias=false) bn(eps=0.001,momentum=0.3) res(conv(4,3,p=same) bn relu conv(4,1)) maxpool(2,ceil=true) convt(6,2,s=2,op=1,g=2) avgpool(2,include_pad=false,p=1) adaptiveavgpool(2x1) flatten dropout(0.1) linear(5,bias=false) bn leakyrelu(0.2) softmax", Input: new[] { 2, 9, 8 }),
            (Spec: "conv(4,3,p=[0,1]) bn gelu maxpool(2) avgpool(2) conv(6,2,s=2,d=1) flatten fc(3) tanh dense(2) sigmoid", Input: new[] { 2, 33 }),
        ]).ToList();
        var dir = Directory.CreateTempSubdirectory("torch-keys-");
        try
        {
            var manifest = Path.Combine(dir.FullName, "specs.json");
            File.WriteAllText(manifest, JsonSerializer.Serialize(specs.Select(s => new Dictionary<string, object> { ["spec"] = s.Spec, ["input"] = s.Input })));
            var output = Path.Combine(dir.FullName, "keys.json");
            TorchPython.RunOrFail(Script, "keys", manifest, output);
            using var result = JsonDocument.Parse(File.ReadAllText(output));
            foreach (var (spec, input) in specs)
            {
                var torchRows = result.RootElement.GetProperty(spec).EnumerateArray()
                    .Select(r => $"{r[0].GetString()} [{string.Join(", ", r[1].EnumerateArray().Select(d => d.GetInt32()))}] {r[2].GetString()}").ToList();
                var loomRows = ModelBuilder.Build(spec, new Shape(input)).Model.StateDict()
                    .Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.Shape.Dims.ToArray())}] {(kv.Value.DType == DType.Int32 ? "int64" : "float32")}").ToList();
                Assert.Equal(torchRows, loomRows);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Train(Module model, ImageDataset train, int steps)
    {
        const int batch = 16;
        var optimiser = new Adam(model.Parameters(), new AdamOptions { Lr = 3e-3 });
        model.Train();
        for (var step = 0; step < steps; step++)
        {
            var (x, labels) = train.Gather([.. Enumerable.Range(step * batch % (train.Count - batch), batch)]);
            var loss = Functional.CrossEntropy(model.Forward(x), labels);
            optimiser.ZeroGrad();
            loss.Backward();
            optimiser.Step();
        }
    }

    private static Tensor Evaluate(Module model, Tensor images)
    {
        using var _ = global::Loom.Autograd.NoGrad();
        var n = images.Shape[0];
        var chunks = new List<Tensor>();
        for (var start = 0; start < n; start += 50)
            chunks.Add(model.Forward(Functional.Narrow(images, 0, start, Math.Min(50, n - start))));
        return Functional.Concat(chunks, 0);
    }

    private static int[] ArgMax(Tensor logits)
    {
        var (n, c) = (logits.Shape[0], logits.Shape[1]);
        var v = logits.ToArray();
        var result = new int[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 1; j < c; j++)
                if (v[i * c + j] > v[i * c + result[i]]) result[i] = j;
        }
        return result;
    }

    /// <summary>max |a − b| / (1 + |b|), and the largest |a − b| in <paramref name="worst"/>.</summary>
    private static double MaxScaledDiff(Tensor actual, Tensor expected, out double worst)
    {
        var (a, e) = (actual.ToDoubleArray(), expected.ToDoubleArray());
        var scaled = 0.0;
        worst = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = Math.Abs(a[i] - e[i]);
            worst = Math.Max(worst, d);
            scaled = Math.Max(scaled, d / (1 + Math.Abs(e[i])));
        }
        return scaled;
    }

    /// <summary>Each tensor's dtype as the file's header names it.</summary>
    private static Dictionary<string, string> HeaderDTypes(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, length));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("dtype").GetString()!);
    }
}
