using System.Diagnostics;
using System.Text.Json;
using Loom.Optim;

namespace Loom.Tests.Optim;

/// <summary>
/// Replays the PyTorch runs recorded by tests/reference/optim_reference.py through Loom: the same initial
/// parameters, the same gradient formula, the same optimiser, schedule and clipping; returns the largest relative
/// deviation from PyTorch.
/// </summary>
internal static class OptimReference
{
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Loom.slnx not found above " + AppContext.BaseDirectory);
    }

    public static string Script => Path.Combine(RepoRoot(), "tests", "reference", "optim_reference.py");

    public static string CommittedFile => Path.Combine(RepoRoot(), "tests", "reference", "data", "optim", "optim_reference.json");

    public static JsonDocument Load(string path) => JsonDocument.Parse(File.ReadAllText(path));

    /// <summary>|loom − torch| / (|torch| + 1e-12): relative, with a floor for exact zeros.</summary>
    public static double Deviation(double loom, double torch) => Math.Abs(loom - torch) / (Math.Abs(torch) + 1e-12);

    // ---- optimisers ----

    /// <summary>Runs one recorded optimiser case; returns the largest deviation over all steps and elements.</summary>
    public static double ReplayOptimizer(JsonElement root, JsonElement c)
    {
        var shapes = root.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToArray();
        var init = Doubles2(root.GetProperty("init"));
        var coefs = Doubles2(root.GetProperty("coefs"));
        var period = root.GetProperty("no_grad_period").GetInt32();
        var ps = shapes.Select((s, i) => Tensor.FromArray(init[i], s).RequiresGrad_()).ToArray();
        var offsets = new int[ps.Length];
        for (var i = 1; i < ps.Length; i++) offsets[i] = offsets[i - 1] + ps[i - 1].Numel;

        var opt = MakeOptimizer(c.GetProperty("optimizer").GetString()!, c.GetProperty("options"), c.GetProperty("group1"), ps);
        var sched = c.GetProperty("schedule") is { ValueKind: JsonValueKind.Object } s2 ? (LrScheduler)MakeSchedule(opt, s2) : null;
        var clip = c.GetProperty("clip");

        var worst = 0.0;
        var t = 0;
        foreach (var expected in c.GetProperty("trajectory").EnumerateArray())
        {
            opt.ZeroGrad();
            for (var i = 0; i < ps.Length; i++)
            {
                if (i == 2 && t % period == 2) continue;
                ps[i].Grad = Gradient(ps[i], coefs[i], offsets[i], t);
            }
            if (clip.ValueKind == JsonValueKind.Object)
            {
                var nt = clip.GetProperty("norm_type");
                GradClip.ClipGradNorm(ps, clip.GetProperty("max_norm").GetDouble(),
                    nt.ValueKind == JsonValueKind.String ? double.PositiveInfinity : nt.GetDouble());
            }
            opt.Step();
            sched?.Step();
            var actual = ps.SelectMany(p => p.ToDoubleArray()).ToArray();
            var k = 0;
            foreach (var e in expected.EnumerateArray()) worst = Math.Max(worst, Deviation(actual[k++], e.GetDouble()));
            t++;
        }
        return worst;
    }

    /// <summary>grad = coef·p + 0.1·(p·p·p) + 0.5·sin(0.9·(t + 1) + 0.37·j), in the script's operation order.</summary>
    public static Tensor Gradient(Tensor p, double[] coef, int offset, int t)
    {
        var x = p.ToDoubleArray();
        var g = new double[x.Length];
        for (var k = 0; k < x.Length; k++)
            g[k] = coef[k] * x[k] + 0.1 * (x[k] * x[k] * x[k]) + 0.5 * Math.Sin(0.9 * (t + 1) + 0.37 * (offset + k));
        return Tensor.FromArray(g, p.Shape.Dims.ToArray());
    }

    public static Optimizer MakeOptimizer(string kind, JsonElement options, JsonElement group1, Tensor[] ps)
    {
        OptimizerOptions o = kind switch
        {
            "sgd" => new SgdOptions(),
            "adam" => new AdamOptions(),
            "adamw" => new AdamWOptions(),
            "rmsprop" => new RmsPropOptions(),
            _ => throw new InvalidOperationException(kind),
        };
        Apply(o, options);
        var o1 = o with { };
        Apply(o1, group1);
        ParamGroup[] groups = [new(ps[..2], o), new(ps[2..], o1)];
        return kind switch
        {
            "sgd" => new Sgd(groups),
            "adam" => new Adam(groups),
            "adamw" => new AdamW(groups),
            _ => new RmsProp(groups),
        };
    }

    /// <summary>Sets the options named in a PyTorch keyword dictionary.</summary>
    public static void Apply(OptimizerOptions o, JsonElement args)
    {
        foreach (var p in args.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name, o)
            {
                case ("lr", _): o.Lr = v.GetDouble(); break;
                case ("weight_decay", _): o.WeightDecay = v.GetDouble(); break;
                case ("maximize", _): o.Maximize = v.GetBoolean(); break;
                case ("momentum", SgdOptions s): s.Momentum = v.GetDouble(); break;
                case ("dampening", SgdOptions s): s.Dampening = v.GetDouble(); break;
                case ("nesterov", SgdOptions s): s.Nesterov = v.GetBoolean(); break;
                case ("betas", AdamFamilyOptions a): (a.Beta1, a.Beta2) = (v[0].GetDouble(), v[1].GetDouble()); break;
                case ("eps", AdamFamilyOptions a): a.Eps = v.GetDouble(); break;
                case ("eps", RmsPropOptions r): r.Eps = v.GetDouble(); break;
                case ("amsgrad", AdamFamilyOptions a): a.Amsgrad = v.GetBoolean(); break;
                case ("alpha", RmsPropOptions r): r.Alpha = v.GetDouble(); break;
                case ("momentum", RmsPropOptions r): r.Momentum = v.GetDouble(); break;
                case ("centered", RmsPropOptions r): r.Centered = v.GetBoolean(); break;
                default: throw new InvalidOperationException($"option {p.Name} for {o.GetType().Name}");
            }
        }
    }

    // ---- schedules ----

    /// <summary>Makes the schedule a PyTorch spec describes ({"kind": "cosine", "T_max": 12, …}).</summary>
    public static object MakeSchedule(Optimizer opt, JsonElement spec)
    {
        double D(string name, double fallback) => spec.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
        int I(string name, int fallback) => spec.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;
        bool B(string name, bool fallback) => spec.TryGetProperty(name, out var v) ? v.GetBoolean() : fallback;
        string S(string name, string fallback) => spec.TryGetProperty(name, out var v) ? v.GetString()! : fallback;
        return spec.GetProperty("kind").GetString() switch
        {
            "step" => new StepLR(opt, I("step_size", 0), D("gamma", 0.1)),
            "multistep" => new MultiStepLR(opt, spec.GetProperty("milestones").EnumerateArray().Select(m => m.GetInt32()), D("gamma", 0.1)),
            "cosine" => new CosineAnnealingLR(opt, I("T_max", 0), D("eta_min", 0)),
            "linear" => new LinearLR(opt, D("start_factor", 1.0 / 3), D("end_factor", 1.0), I("total_iters", 5)),
            "one_cycle" => new OneCycleLR(opt,
                spec.GetProperty("max_lr") is { ValueKind: JsonValueKind.Array } arr
                    ? arr.EnumerateArray().Select(x => x.GetDouble()).ToArray()
                    : Enumerable.Repeat(spec.GetProperty("max_lr").GetDouble(), opt.ParamGroups.Count).ToArray(),
                I("total_steps", 0), D("pct_start", 0.3),
                S("anneal_strategy", "cos") == "cos" ? AnnealStrategy.Cos : AnnealStrategy.Linear,
                B("cycle_momentum", true), D("base_momentum", 0.85), D("max_momentum", 0.95),
                D("div_factor", 25), D("final_div_factor", 1e4), B("three_phase", false)),
            "sequential" => new SequentialLR(opt,
                [.. spec.GetProperty("schedulers").EnumerateArray().Select(s => (LrScheduler)MakeSchedule(opt, s))],
                [.. spec.GetProperty("milestones").EnumerateArray().Select(m => m.GetInt32())]),
            "plateau" => new ReduceLROnPlateau(opt,
                S("mode", "min") == "min" ? PlateauMode.Min : PlateauMode.Max, D("factor", 0.1), I("patience", 10),
                D("threshold", 1e-4), S("threshold_mode", "rel") == "rel" ? ThresholdMode.Rel : ThresholdMode.Abs,
                I("cooldown", 0),
                minLrs: spec.GetProperty("min_lr") is { ValueKind: JsonValueKind.Array } m
                    ? m.EnumerateArray().Select(x => x.GetDouble()).ToArray()
                    : Enumerable.Repeat(spec.GetProperty("min_lr").GetDouble(), opt.ParamGroups.Count).ToArray()),
            var k => throw new InvalidOperationException("schedule " + k),
        };
    }

    /// <summary>Runs one recorded schedule case (rates and cycled momenta after construction and each step).</summary>
    public static double ReplaySchedule(JsonElement c)
    {
        var lrs = c.GetProperty("group_lrs").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var adam = c.GetProperty("optimizer").GetString() == "adam";
        ParamGroup[] groups = adam
            ? [new([Tensor.Zeros(new Shape(2), DType.Float64)], new AdamOptions { Lr = lrs[0] }), new([Tensor.Zeros(new Shape(3), DType.Float64)], new AdamOptions { Lr = lrs[1] })]
            : [new([Tensor.Zeros(new Shape(2), DType.Float64)], new SgdOptions { Lr = lrs[0], Momentum = 0.9 }), new([Tensor.Zeros(new Shape(3), DType.Float64)], new SgdOptions { Lr = lrs[1], Momentum = 0.9 })];
        Optimizer opt = adam ? new Adam(groups) : new Sgd(groups);
        var sched = MakeSchedule(opt, c.GetProperty("schedule"));
        var metrics = c.GetProperty("metrics").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var expectedLrs = Doubles2(c.GetProperty("lrs"));
        var expectedMomenta = Doubles2(c.GetProperty("momenta"));
        var worst = 0.0;
        for (var t = 0; t < expectedLrs.Length; t++)
        {
            if (t > 0)
            {
                opt.Step();
                if (sched is ReduceLROnPlateau plateau) plateau.Step(metrics[t - 1]);
                else ((LrScheduler)sched).Step();
            }
            var last = ((ILrScheduler)sched).GetLastLr();
            for (var g = 0; g < opt.ParamGroups.Count; g++)
            {
                var o = opt.ParamGroups[g].Options;
                worst = Math.Max(worst, Deviation(opt.ParamGroups[g].Lr, expectedLrs[t][g]));
                worst = Math.Max(worst, Deviation(last[g], expectedLrs[t][g]));
                var momentum = o is AdamFamilyOptions a ? a.Beta1 : ((SgdOptions)o).Momentum;
                worst = Math.Max(worst, Deviation(momentum, expectedMomenta[t][g]));
            }
        }
        return worst;
    }

    // ---- clipping ----

    public static double ReplayClip(JsonElement root, JsonElement c)
    {
        var shapes = root.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToArray();
        var before = c.GetProperty("grads_before").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var after = c.GetProperty("grads_after").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var ps = new Tensor[shapes.Length];
        var offset = 0;
        for (var i = 0; i < shapes.Length; i++)
        {
            ps[i] = Tensor.Zeros(new Shape(shapes[i]), DType.Float64).RequiresGrad_();
            var n = ps[i].Numel;
            ps[i].Grad = Tensor.FromArray(before[offset..(offset + n)], shapes[i]);
            offset += n;
        }
        var worst = 0.0;
        if (c.GetProperty("kind").GetString() == "norm")
        {
            var nt = c.GetProperty("norm_type");
            var total = GradClip.ClipGradNorm(ps, c.GetProperty("max_norm").GetDouble(),
                nt.ValueKind == JsonValueKind.String ? double.PositiveInfinity : nt.GetDouble());
            worst = Deviation(total, c.GetProperty("total_norm").GetDouble());
        }
        else
        {
            GradClip.ClipGradValue(ps, c.GetProperty("clip_value").GetDouble());
        }
        var actual = ps.SelectMany(p => p.Grad!.ToDoubleArray()).ToArray();
        for (var k = 0; k < after.Length; k++) worst = Math.Max(worst, Deviation(actual[k], after[k]));
        return worst;
    }


    private static double[][] Doubles2(JsonElement e) =>
        [.. e.EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetDouble()).ToArray())];
}
