using System.Reflection;
using System.Text;
using Loom.Data;
using Loom.Interop;
using Loom.Nn.Spec;
using Loom.Tests.Cli;
using Loom.Training;

namespace Loom.Tests.Reliability.Fuzz;

/// <summary>The readers under fuzz, each with valid seed inputs to mutate.</summary>
internal static class FuzzTargets
{
    /// <summary>What a reader may allocate for an input of n bytes: a few copies of it plus fixed overhead.</summary>
    public static long Budget(int bytes) => 16L * bytes + (4L << 20);

    public static byte[][] IdxSeeds()
    {
        static byte[] Bytes(IdxArray a)
        {
            using var s = new MemoryStream();
            global::Loom.Data.Idx.Write(s, a);
            return s.ToArray();
        }
        var digits = new byte[3 * 5 * 4];
        for (var i = 0; i < digits.Length; i++) digits[i] = (byte)(i * 7);
        return
        [
            Bytes(new IdxArray(digits, new Shape(3, 5, 4))),
            Bytes(new IdxArray([1, 2, 3, 4, 5, 6], new Shape(6))),
            Bytes(new IdxArray(new float[] { 1.5f, -2, 3, 0.25f }, new Shape(2, 2))),
            Bytes(new IdxArray(new int[] { 1, -2, 3 }, new Shape(3))),
            Bytes(new IdxArray(new double[] { 1, 2 }, new Shape(1, 2))),
        ];
    }

    public static void Idx(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        _ = global::Loom.Data.Idx.Read(stream, "fuzz.idx");
    }

    public static byte[][] SafetensorsSeeds() =>
    [
        global::Loom.Interop.Safetensors.ToBytes(new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.FromArray([1f, 2, 3, 4, 5, 6], 2, 3),
            ["bias"] = Tensor.FromArray([0.5f, -1], 2),
        }, new Dictionary<string, string> { ["format"] = "pt" }),
        global::Loom.Interop.Safetensors.ToBytes(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(4) }),
        Encoding.UTF8.GetBytes("\u0036\0\0\0\0\0\0\0{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}    ").Concat(new byte[4]).ToArray(),
    ];

    public static void Safetensors(byte[] bytes) => _ = global::Loom.Interop.Safetensors.Load(bytes);

    public static string[] SpecSeeds() =>
    [
        Presets.Resolve("smallcnn", 10), Presets.Resolve("resnet-small", 10), Presets.Resolve("mlp", 10), Presets.Resolve("lenet5", 10),
        "conv(8,3,s=2,p=same) bn relu dropout(0.5) flatten linear(10)", "res(conv(4,3,p=1) relu) gap flatten linear(3)",
        "conv(4,[3,5],p=[0,1,2,0]) maxpool(2,ceil=true) avgpool(2) flatten linear(2)",
    ];

    /// <summary>
    /// Parses, and builds on a 1×8×8 input (small, so honest specs build in microseconds) unless a layer is wider than
    /// <see cref="MaxBuiltWidth"/>: the long run's watchdog once fired on <c>… basic(64,s=2) basic(12810)</c>, a
    /// well-formed request for 1.5 billion weights whose building is minutes of the work asked for, not a hang.
    /// </summary>
    public static void Spec(string spec)
    {
        var layers = SpecParser.Parse(spec);
        if (Widest(layers) > MaxBuiltWidth) return;
        _ = ModelBuilder.Build(spec, new Shape(1, 8, 8), new Generator(1));
    }

    /// <summary>The widest layer (filters or features) the spec target builds: 512 × 512 × 3 × 3 weights build in milliseconds.</summary>
    public const int MaxBuiltWidth = 512;

    /// <summary>The largest first argument (F or N) of the conv, convt, linear and basic layers, nested ones included.</summary>
    private static long Widest(IEnumerable<LayerSpec> layers) => layers.Select(layer => Math.Max(
        layer.Name is "conv" or "convt" or "linear" or "fc" or "dense" or "basic"
            && layer.Positional.FirstOrDefault() is { Value: { } text } && long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var width)
            ? width : 0,
        layer.Arguments.Where(a => a.Layers is not null).Select(a => Widest(a.Layers!)).DefaultIfEmpty(0).Max())).DefaultIfEmpty(0).Max();

    public static string[] HistorySeeds() =>
    [
        History.Header + "\n1,1,train,2.30,0.1,0.003,1.5\n2,1,train,2.1,0.2,0.003,1.4\n2,1,val,2.0,0.25,0.003,\n",
        "step,epoch,split,loss\n1,1,train,nan\n2,1,train,inf\n",
        "loss,split,epoch,step,accuracy\n0.5,train,1,1,0.5\n",
    ];

    public static void HistoryText(string text) => _ = History.Parse(text.Split('\n'), "fuzz.csv");

    /// <summary>A tiny PNG and a tiny BMP, as the image-folder loader reads them (decoded by Skia, then resized).</summary>
    public static byte[][] ImageSeeds()
    {
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANBQEBGSeCFQAAAABJRU5ErkJggg==");
        var bmp = new byte[58];
        "BM"u8.CopyTo(bmp);
        BitConverter.TryWriteBytes(bmp.AsSpan(2), 58);
        BitConverter.TryWriteBytes(bmp.AsSpan(10), 54);
        BitConverter.TryWriteBytes(bmp.AsSpan(14), 40);
        BitConverter.TryWriteBytes(bmp.AsSpan(18), 1);
        BitConverter.TryWriteBytes(bmp.AsSpan(22), 1);
        BitConverter.TryWriteBytes(bmp.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(bmp.AsSpan(28), (short)24);
        bmp[54] = 10;
        bmp[55] = 200;
        bmp[56] = 30;
        return [png, bmp];
    }

    /// <summary>Writes the bytes as an image file and loads it the way the image-folder dataset does.</summary>
    public static Action<byte[]> ImageFile(string folder)
    {
        var path = Path.Combine(folder, "fuzz.png");
        return bytes =>
        {
            File.WriteAllBytes(path, bytes);
            _ = ImageFolder.LoadImage(path, new ImageFolderOptions { Height = 8, Width = 8 });
        };
    }

    // ---- the command line, in process (loaded from the built CLI, as the tests do not reference it) ----

    private static readonly Lazy<Func<string[], TextWriter, TextWriter, int>> LazyCli = new(() =>
    {
        var assembly = Assembly.LoadFrom(CliRunner.CliDll);
        var run = assembly.GetType("Loom.Cli.Program")!.GetMethod("Run", [typeof(string[]), typeof(TextWriter), typeof(TextWriter)])!;
        return (args, stdout, stderr) => (int)run.Invoke(null, [args, stdout, stderr])!;
    });

    private static readonly string[] Options =
    [
        "--epochs", "-e", "--batch-size", "-b", "--lr", "--optimizer", "--momentum", "--schedule", "--warmup-epochs", "--clip", "--weight-decay",
        "--label-smoothing", "--augment", "--seed", "--threads", "--stop-on", "--hidden", "--layers", "--level", "--delay", "--max-delay", "--k",
        "--model", "-m", "--json", "--input", "--kernel", "--stride", "--padding", "--filters", "--groups", "--explain", "--metric", "--width",
        "--height", "--smoothing", "--count", "--feature-maps", "--mistakes", "--help", "-h", "-?", "--version", "--", "-",
    ];

    private static readonly string[] Values =
    [
        "", "0", "1", "-1", "2", "3", "1e309", "-1e309", "NaN", "Infinity", "1e-400", "abc", "99999999999999999999", "2147483648", "-2147483649",
        "1x28x28", "3x32x32", "0x0x0", "-1x2x3", "1x1", "28", "conv(", "linear(-1)", "linear(99999999999)", "conv(8,3) relu flatten linear(10)",
        "smallcnn", "mlp", "sgd", "adam", "none", "onecycle", "cosine", "plateau", "diverged", "flip,crop(28,2)", "crop(99999,99999)",
        "rotate(1e308)", "blur(0,0)", "/nonexistent/loom-fuzz", "same", "valid", "[1,2]", "[", "\0", "ü", "💥", "--json",
    ];

    private static readonly string[] Commands = ["train", "eval", "summary", "shape", "show", "plot", "gradflow", "shape conv", "shape pool", ""];

    /// <summary>Valid-looking command lines to mutate: a command, then options and values.</summary>
    public static string[][] CliSeeds(string scratch) =>
    [
        ["summary", "conv(8,3) relu maxpool(2) flatten linear(10)", "--input", "1x28x28"],
        ["shape", "conv", "--input", "1x28x28", "--kernel", "3", "--padding", "1"],
        ["train", "--epochs", "2", "--lr", "0.01", "--optimizer", "sgd", "--augment", "flip"],
        ["eval", "/nonexistent/loom-fuzz"],
        ["plot", "/nonexistent/loom-fuzz", "--metric", "loss"],
        ["gradflow", "/nonexistent/loom-fuzz", "--json"],
        ["show", "/nonexistent/loom-fuzz", "--filters"],
    ];

    /// <summary>
    /// Mutates a command line at the token level (insert, delete, replace with an option or a hostile value, mutate
    /// a token's bytes). `train` always trains on a missing dataset into a scratch folder, and `gradflow` always names
    /// a missing run, so a case never starts real work: what is under test is the parsing and validation before it.
    /// </summary>
    public static string[] MutateCli(string[] seed, ulong rngSeed, string scratch)
    {
        var random = new Random((int)(rngSeed ^ (rngSeed >> 32)));
        var tokens = new List<string>(seed);
        if (random.Next(8) == 0) tokens[0] = Commands[random.Next(Commands.Length)];
        var count = 1 + random.Next(6);
        for (var m = 0; m < count; m++)
        {
            var pos = random.Next(1, tokens.Count + 1);
            switch (random.Next(5))
            {
                case 0:
                    tokens.Insert(pos, Options[random.Next(Options.Length)]);
                    break;
                case 1:
                    tokens.Insert(pos, Values[random.Next(Values.Length)]);
                    break;
                case 2 when pos < tokens.Count:
                    tokens.RemoveAt(pos);
                    break;
                case 3 when pos < tokens.Count:
                    tokens[pos] = Values[random.Next(Values.Length)];
                    break;
                case 4 when pos < tokens.Count:
                    tokens[pos] = Mutator.MutateText(tokens[pos], (ulong)random.NextInt64());
                    break;
                default:
                    break;
            }
        }
        var command = tokens[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var rest = tokens.Skip(1).Where(t => t is not ("--data" or "-d" or "--data-dir" or "--out" or "-o" or "--resume" or "--png")).ToList();
        if (command.FirstOrDefault() == "train") return [.. command, "--data", "/nonexistent/loom-fuzz-data", "--out", Path.Combine(scratch, "run"), .. rest];
        if (command.FirstOrDefault() == "gradflow") return [.. command, "/nonexistent/loom-fuzz", .. rest.Where(t => !t.StartsWith('/'))];
        return [.. command, .. rest];
    }

    /// <summary>Runs the CLI in process: it must return an exit code and print no stack trace, whatever the arguments.</summary>
    public static void Cli(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Cli(args, stdout, stderr, out _);
    }

    /// <summary>As <see cref="Cli(string[])"/>, keeping the output and the exit code.</summary>
    public static void Cli(string[] args, StringWriter stdout, StringWriter stderr, out int code)
    {
        try
        {
            code = LazyCli.Value(args, stdout, stderr);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
        var err = stderr.ToString();
        if (err.Contains("   at ", StringComparison.Ordinal) || err.Contains("Unhandled exception", StringComparison.Ordinal))
            throw new InvalidOperationException($"loom {string.Join(' ', args)} printed a stack trace (exit {code}):\n{err}");
        if (code != 0 && err.Trim().Length == 0 && !stdout.ToString().Contains("Usage", StringComparison.Ordinal))
            throw new InvalidOperationException($"loom {string.Join(' ', args)} failed (exit {code}) without a message");
    }
}
