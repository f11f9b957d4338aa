using System.Runtime.InteropServices;
using Loom.Optim;

namespace Loom.Tests.Optim;

public class OptimizerTests
{
    private static readonly double[][] Init = [[0.5, -1.2, 0.3, 0.9, -0.4, 1.1], [0.7, -0.2, -1.3, 0.05], [1.4, -0.6]];
    private static readonly double[][] Coefs = [[1.5, 0.4, 0.9, 1.2, 0.3, 0.8], [0.6, 1.9, 0.25, 1.1], [0.7, 1.3]];
    private static readonly int[][] Shapes = [[2, 3], [4], [2]];

    private static Tensor[] Params(DType dtype = DType.Float64, double[][]? values = null) =>
        [.. (values ?? Init).Select((v, i) => Tensor.FromArray(v, Shapes[i]).To(dtype).RequiresGrad_())];

    /// <summary>The reference script's gradient; parameter 2 gets none every third step.</summary>
    private static void SetGrads(Tensor[] ps, int t)
    {
        var offset = 0;
        for (var i = 0; i < ps.Length; i++)
        {
            ps[i].Grad = i == 2 && t % 3 == 2 ? null : OptimReference.Gradient(ps[i], Coefs[i], offset, t).To(ps[i].DType);
            offset += ps[i].Numel;
        }
    }

    public static TheoryData<string> Configs =>
    [
        "sgd", "sgd_momentum_dampening_wd", "sgd_nesterov", "adam", "adam_amsgrad_wd", "adamw", "adamw_amsgrad",
        "rmsprop", "rmsprop_centered_momentum", "sgd_one_cycle", "adam_one_cycle", "sgd_warmup_cosine", "adamw_plateau",
    ];

    /// <summary>Builds a two-group optimiser (and maybe a schedule) for a named configuration.</summary>
    private static (Optimizer Opt, ILrScheduler? Sched) Make(string config, Tensor[] ps)
    {
        ParamGroup[] Groups(OptimizerOptions o) => [new(ps[..2], o), new(ps[2..], o with { Lr = o.Lr / 2, WeightDecay = 0.02 })];
        Optimizer opt = config switch
        {
            "sgd" => new Sgd(Groups(new SgdOptions { Lr = 0.1 })),
            "sgd_momentum_dampening_wd" => new Sgd(Groups(new SgdOptions { Lr = 0.05, Momentum = 0.8, Dampening = 0.3, WeightDecay = 0.01 })),
            "sgd_nesterov" or "sgd_one_cycle" or "sgd_warmup_cosine" => new Sgd(Groups(new SgdOptions { Lr = 0.05, Momentum = 0.9, Nesterov = true })),
            "adam" or "adam_one_cycle" => new Adam(Groups(new AdamOptions { Lr = 0.01 })),
            "adam_amsgrad_wd" => new Adam(Groups(new AdamOptions { Lr = 0.02, Beta1 = 0.8, Beta2 = 0.99, WeightDecay = 0.1, Amsgrad = true })),
            "adamw" or "adamw_plateau" => new AdamW(Groups(new AdamWOptions { Lr = 0.01 })),
            "adamw_amsgrad" => new AdamW(Groups(new AdamWOptions { Lr = 0.02, Amsgrad = true, WeightDecay = 0.1 })),
            "rmsprop" => new RmsProp(Groups(new RmsPropOptions { Lr = 0.01 })),
            "rmsprop_centered_momentum" => new RmsProp(Groups(new RmsPropOptions { Lr = 0.005, Centered = true, Momentum = 0.5, Maximize = true })),
            _ => throw new ArgumentException(config),
        };
        ILrScheduler? sched = config switch
        {
            "sgd_one_cycle" => new OneCycleLR(opt, 0.1, totalSteps: 20),
            "adam_one_cycle" => new OneCycleLR(opt, [0.05, 0.02], totalSteps: 20, threePhase: true, annealStrategy: AnnealStrategy.Linear),
            "sgd_warmup_cosine" => new SequentialLR(opt, [new LinearLR(opt, 0.2, totalIters: 4), new CosineAnnealingLR(opt, 16, 1e-3)], [4]),
            "adamw_plateau" => new ReduceLROnPlateau(opt, factor: 0.5, patience: 1, cooldown: 1),
            _ => null,
        };
        return (opt, sched);
    }

    private static void Run(Tensor[] ps, Optimizer opt, ILrScheduler? sched, int from, int to)
    {
        for (var t = from; t < to; t++)
        {
            opt.ZeroGrad();
            SetGrads(ps, t);
            opt.Step();
            switch (sched)
            {
                case ReduceLROnPlateau plateau: plateau.Step(1.0 / (1 + t % 5)); break;
                case LrScheduler s: s.Step(); break;
            }
        }
    }

    /// <summary>A checkpoint as the trainer writes it: tensors as raw little-endian bytes (safetensors' payload),
    /// scalars as JSON text; read back into new objects.</summary>
    private static OptimizerStateDict ThroughCheckpoint(OptimizerStateDict state)
    {
        var json = state.ToJson();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (key, t) in state.Tensors)
        {
            var bytes = t.DType == DType.Float64 ? MemoryMarshal.AsBytes(t.AsDoubleSpan()).ToArray() : MemoryMarshal.AsBytes(t.AsSpan()).ToArray();
            tensors[key] = t.DType == DType.Float64
                ? Tensor.FromArray(MemoryMarshal.Cast<byte, double>(bytes).ToArray(), t.Shape.Dims.ToArray())
                : Tensor.FromArray(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), t.Shape.Dims.ToArray());
        }
        return OptimizerStateDict.FromJson(json, tensors);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void ResumingFromAStateDictContinuesBitwiseIdentically(string config)
    {
        var straight = Params();
        var (optA, schedA) = Make(config, straight);
        Run(straight, optA, schedA, 0, 20);

        var first = Params();
        var (optB, schedB) = Make(config, first);
        Run(first, optB, schedB, 0, 7);
        var optState = ThroughCheckpoint(optB.StateDict());
        var schedState = schedB is null ? null : SchedulerStateDict.FromJson(schedB.StateDict().ToJson());
        var saved = first.Select(p => p.ToDoubleArray()).ToArray();

        // A fresh process: new parameters from the checkpoint, a new optimiser and schedule, then the states.
        var resumed = Params(values: saved);
        var (optC, schedC) = Make(config, resumed);
        optC.LoadStateDict(optState);
        if (schedState is not null) schedC!.LoadStateDict(schedState);
        Run(resumed, optC, schedC, 7, 20);

        for (var i = 0; i < straight.Length; i++) Assert.Equal(straight[i].ToDoubleArray(), resumed[i].ToDoubleArray());
        for (var g = 0; g < optA.ParamGroups.Count; g++) Assert.Equal(optA.ParamGroups[g].Options, optC.ParamGroups[g].Options);
        if (schedA is not null) Assert.Equal(schedA.GetLastLr(), schedC!.GetLastLr());
    }

    [Fact]
    public void StateDictUsesPyTorchsKeys()
    {
        var ps = Params();
        var adam = new Adam([new ParamGroup(ps[..2], new AdamOptions { Amsgrad = true }), new ParamGroup(ps[2..], new AdamOptions { Lr = 0.1 })]);
        _ = new StepLR(adam, 3);
        SetGrads(ps, 0);
        ps[1].Grad = null;
        adam.Step();
        var state = adam.StateDict();
        Assert.Equal("adam", state.Kind);
        Assert.Equal(["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.2.exp_avg", "state.2.exp_avg_sq"],
            state.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1, state.Scalars["state.0.step"]);
        Assert.False(state.Scalars.ContainsKey("state.1.step"));   // no gradient yet, no state (as PyTorch)
        Assert.Equal(0.1, state.Scalars["param_groups.1.lr"]);
        Assert.Equal(0.1, state.Scalars["param_groups.1.initial_lr"]);
        Assert.Equal(0.9, state.Scalars["param_groups.0.betas.0"]);
        Assert.Equal(0.999, state.Scalars["param_groups.0.betas.1"]);
        Assert.Equal(1, state.Scalars["param_groups.0.amsgrad"]);
        Assert.Equal(2, state.Scalars["param_groups.0.num_params"]);
        Assert.Equal(1, state.Scalars["param_groups.1.num_params"]);

        var sgd = new Sgd(Params(), new SgdOptions { Momentum = 0.9, Nesterov = true });
        var sgdKeys = sgd.StateDict().Scalars.Keys.Order(StringComparer.Ordinal);
        Assert.Equal(["param_groups.0.dampening", "param_groups.0.lr", "param_groups.0.maximize", "param_groups.0.momentum",
            "param_groups.0.nesterov", "param_groups.0.num_params", "param_groups.0.weight_decay"], sgdKeys);
        var rms = new RmsProp(Params(), new RmsPropOptions { Centered = true, Momentum = 0.1 });
        var p = rms.ParamGroups[0].Params;
        for (var i = 0; i < p.Count; i++) p[i].Grad = Tensor.OnesLike(p[i]);
        rms.Step();
        Assert.Equal(["state.0.grad_avg", "state.0.momentum_buffer", "state.0.square_avg"],
            rms.StateDict().Tensors.Keys.Where(k => k.StartsWith("state.0.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void StateDictIsASnapshot()
    {
        var ps = Params();
        var opt = new Sgd(ps, new SgdOptions { Lr = 0.1, Momentum = 0.9 });
        SetGrads(ps, 0);
        opt.Step();
        var state = opt.StateDict();
        var before = state.Tensors["state.0.momentum_buffer"].ToDoubleArray();
        opt.Step();
        Assert.Equal(before, state.Tensors["state.0.momentum_buffer"].ToDoubleArray());
    }

    [Fact]
    public void LoadingAMismatchedStateDictNamesTheProblemAndChangesNothing()
    {
        var ps = Params();
        var adam = new Adam(ps);
        SetGrads(ps, 0);
        adam.Step();
        var good = adam.StateDict();

        var e = Assert.Throws<LoomException>(() => new Sgd(Params()).LoadStateDict(good));
        Assert.Contains("cannot load the state of a 'adam' optimiser", e.Message);

        var twoGroups = new Adam([new ParamGroup(Params()[..2], new AdamOptions()), new ParamGroup(Params()[2..], new AdamOptions())]);
        e = Assert.Throws<LoomException>(() => twoGroups.LoadStateDict(good));
        Assert.Contains("parameter group 0 has 2 parameters but the state dict's has 3", e.Message);

        var tensors = good.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["state.0.exp_avg"] = Tensor.Zeros(new Shape(6), DType.Float64);
        var fresh = new Adam(Params());
        e = Assert.Throws<LoomException>(() => fresh.LoadStateDict(new OptimizerStateDict("adam", tensors, good.Scalars)));
        Assert.Contains("\"state.0.exp_avg\" has shape [6] but parameter 0 has shape [2, 3]", e.Message);
        Assert.Empty(fresh.StateDict().Tensors);   // nothing was loaded

        var scalars = good.Scalars.ToDictionary(kv => kv.Key, kv => kv.Value);
        scalars["param_groups.0.betas.0"] = 1.5;
        e = Assert.Throws<LoomException>(() => fresh.LoadStateDict(new OptimizerStateDict("adam", good.Tensors, scalars)));
        Assert.Contains("beta1 must be in [0, 1), got 1.5", e.Message);
        Assert.Equal(0.9, ((AdamOptions)fresh.ParamGroups[0].Options).Beta1);

        scalars = good.Scalars.ToDictionary(kv => kv.Key, kv => kv.Value);
        scalars["param_groups.0.momentum"] = 0.9;
        e = Assert.Throws<LoomException>(() => fresh.LoadStateDict(new OptimizerStateDict("adam", good.Tensors, scalars)));
        Assert.Contains("unexpected key \"param_groups.0.momentum\"", e.Message);

        scalars = good.Scalars.ToDictionary(kv => kv.Key, kv => kv.Value);
        scalars.Remove("param_groups.0.eps");
        e = Assert.Throws<LoomException>(() => fresh.LoadStateDict(new OptimizerStateDict("adam", good.Tensors, scalars)));
        Assert.Contains("no \"param_groups.0.eps\"", e.Message);

        tensors = good.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["state.0.momentum_buffer"] = Tensor.Zeros(new Shape(2, 3), DType.Float64);
        e = Assert.Throws<LoomException>(() => fresh.LoadStateDict(new OptimizerStateDict("adam", tensors, good.Scalars)));
        Assert.Contains("unexpected tensor \"state.0.momentum_buffer\"", e.Message);

        e = Assert.Throws<LoomException>(() => OptimizerStateDict.FromJson("{\"kind\": 3}", good.Tensors));
        Assert.Contains("optimizer state", e.Message);
        e = Assert.Throws<LoomException>(() => OptimizerStateDict.FromJson("{not json", good.Tensors));
        Assert.Contains("not valid JSON", e.Message);
    }

    public static TheoryData<string, string> BadOptions => new()
    {
        { "sgd lr", "sgd: lr must be ≥ 0, got -0.1" },
        { "sgd momentum", "sgd: momentum must be ≥ 0, got -0.5" },
        { "sgd weight decay", "sgd: weight_decay must be ≥ 0, got -0.0001" },
        { "sgd nesterov without momentum", "sgd: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum 0 and dampening 0" },
        { "sgd nesterov with dampening", "sgd: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum 0.9 and dampening 0.1" },
        { "adam lr", "adam: lr must be ≥ 0, got -0.001" },
        { "adam beta1", "adam: beta1 must be in [0, 1), got 1" },
        { "adam beta2", "adam: beta2 must be in [0, 1), got -0.1" },
        { "adam eps", "adam: eps must be ≥ 0, got -1E-08" },
        { "adam nan lr", "adam: lr must be ≥ 0, got NaN" },
        { "adamw beta1", "adamw: beta1 must be in [0, 1), got 1.5" },
        { "adamw weight decay", "adamw: weight_decay must be ≥ 0, got -0.01" },
        { "rmsprop alpha", "rmsprop: alpha must be ≥ 0, got -0.9" },
        { "rmsprop momentum", "rmsprop: momentum must be ≥ 0, got -1" },
        { "rmsprop eps", "rmsprop: eps must be ≥ 0, got -1" },
        { "second group", "sgd: parameter group 1: lr must be ≥ 0, got -1" },
        { "changed after construction", "adam: lr must be ≥ 0, got -5" },
        { "wrong options type", "sgd: the options are AdamOptions; sgd needs SgdOptions" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadHyperParametersAreRejectedByName(string name, string message)
    {
        var ps = Params();
        Action make = name switch
        {
            "sgd lr" => () => _ = new Sgd(ps, new SgdOptions { Lr = -0.1 }),
            "sgd momentum" => () => _ = new Sgd(ps, new SgdOptions { Momentum = -0.5 }),
            "sgd weight decay" => () => _ = new Sgd(ps, new SgdOptions { WeightDecay = -1e-4 }),
            "sgd nesterov without momentum" => () => _ = new Sgd(ps, new SgdOptions { Nesterov = true }),
            "sgd nesterov with dampening" => () => _ = new Sgd(ps, new SgdOptions { Momentum = 0.9, Dampening = 0.1, Nesterov = true }),
            "adam lr" => () => _ = new Adam(ps, new AdamOptions { Lr = -1e-3 }),
            "adam beta1" => () => _ = new Adam(ps, new AdamOptions { Beta1 = 1.0 }),
            "adam beta2" => () => _ = new Adam(ps, new AdamOptions { Beta2 = -0.1 }),
            "adam eps" => () => _ = new Adam(ps, new AdamOptions { Eps = -1e-8 }),
            "adam nan lr" => () => _ = new Adam(ps, new AdamOptions { Lr = double.NaN }),
            "adamw beta1" => () => _ = new AdamW(ps, new AdamWOptions { Beta1 = 1.5 }),
            "adamw weight decay" => () => _ = new AdamW(ps, new AdamWOptions { WeightDecay = -0.01 }),
            "rmsprop alpha" => () => _ = new RmsProp(ps, new RmsPropOptions { Alpha = -0.9 }),
            "rmsprop momentum" => () => _ = new RmsProp(ps, new RmsPropOptions { Momentum = -1 }),
            "rmsprop eps" => () => _ = new RmsProp(ps, new RmsPropOptions { Eps = -1 }),
            "second group" => () => _ = new Sgd([new ParamGroup(ps[..1], new SgdOptions()), new ParamGroup(ps[1..], new SgdOptions { Lr = -1 })]),
            "changed after construction" => () => StepAfterSettingLr(new Adam(ps), -5),
            "wrong options type" => () => _ = new Sgd([new ParamGroup(ps, new AdamOptions())]),
            _ => throw new ArgumentException(name),
        };
        var e = Assert.Throws<LoomException>(make);
        Assert.Equal(message, e.Message);
    }

    private static void StepAfterSettingLr(Optimizer opt, double lr)
    {
        opt.ParamGroups[0].Lr = lr;
        opt.Step();
    }

    [Fact]
    public void BadParameterListsAreRejected()
    {
        var ps = Params();
        Assert.Contains("got an empty parameter list", Assert.Throws<LoomException>(() => new Adam([])).Message);
        Assert.Contains("adam: parameter 1 (shape [2, 3]) appears twice in the group",
            Assert.Throws<LoomException>(() => new Adam([ps[0], ps[0]])).Message);
        Assert.Contains("parameter group 1: parameter 0 (shape [2, 3]) is already in another parameter group",
            Assert.Throws<LoomException>(() => new Sgd([new ParamGroup(ps, new SgdOptions()), new ParamGroup([ps[0]], new SgdOptions())])).Message);
        var nonLeaf = ps[0] * 2.0;
        Assert.Contains("is not a leaf", Assert.Throws<LoomException>(() => new Sgd([nonLeaf])).Message);
        Assert.Contains("is int32", Assert.Throws<LoomException>(() => new Sgd([Tensor.FromArray([1, 2], 2)])).Message);

        var opt = new Sgd(ps);
        ps[1].Grad = Tensor.Zeros(3);
        Assert.Equal("sgd: the gradient of parameter 1 is float32 [3] but the parameter is float64 [4]",
            Assert.Throws<LoomException>(opt.Step).Message);
    }

    [Fact]
    public void ParametersWithoutAGradientAreSkipped()
    {
        var ps = Params();
        var opt = new Adam(ps, new AdamOptions { Lr = 0.1 });
        for (var t = 0; t < 3; t++)
        {
            opt.ZeroGrad();
            ps[0].Grad = Tensor.OnesLike(ps[0]);
            opt.Step();
        }
        Assert.Equal(Init[1], ps[1].ToDoubleArray());
        Assert.Equal(Init[2], ps[2].ToDoubleArray());
        var state = opt.StateDict();
        Assert.Equal(3, state.Scalars["state.0.step"]);
        Assert.DoesNotContain("state.1.step", state.Scalars.Keys);
        Assert.DoesNotContain("state.1.exp_avg", state.Tensors.Keys);
        // Adam's first step with g = 1 moves every element by lr (m̂ = v̂ = 1).
        ps[1].Grad = Tensor.OnesLike(ps[1]);
        opt.Step();
        Assert.Equal(Init[1].Select(x => x - 0.1), ps[1].ToDoubleArray(), (a, b) => Math.Abs(a - b) < 1e-7);
    }

    [Fact]
    public void ZeroGradClearsOrZeroes()
    {
        var ps = Params();
        var opt = new Sgd(ps);
        SetGrads(ps, 0);
        opt.ZeroGrad();
        Assert.All(ps, p => Assert.Null(p.Grad));
        SetGrads(ps, 0);
        var g = ps[0].Grad!;
        opt.ZeroGrad(setToNone: false);
        Assert.Same(g, ps[0].Grad);
        Assert.All(g.ToDoubleArray(), x => Assert.Equal(0, x));
    }

    [Fact]
    public void GroupsKeepTheirOwnCopyOfTheOptions()
    {
        var ps = Params();
        var defaults = new SgdOptions { Lr = 0.1 };
        var opt = new Sgd([new ParamGroup(ps[..1], defaults), new ParamGroup(ps[1..], defaults)]);
        opt.ParamGroups[0].Lr = 0.5;
        Assert.Equal(0.1, opt.ParamGroups[1].Lr);
        Assert.Equal(0.1, defaults.Lr);
    }

    [Fact]
    public void AdamWDefaultsToPyTorchsWeightDecay()
    {
        Assert.Equal(0.01, new AdamWOptions().WeightDecay);
        Assert.Equal(0, new AdamOptions().WeightDecay);
        Assert.Equal(0.01, new RmsPropOptions().Lr);
        Assert.Equal(1e-3, new AdamOptions().Lr);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Float32FollowsFloat64(string config)
    {
        var p64 = Params();
        var p32 = Params(DType.Float32);
        var (o64, s64) = Make(config, p64);
        var (o32, s32) = Make(config, p32);
        Run(p64, o64, s64, 0, 20);
        Run(p32, o32, s32, 0, 20);
        for (var i = 0; i < p64.Length; i++)
        {
            var a = p64[i].ToDoubleArray();
            var b = p32[i].ToDoubleArray();
            for (var k = 0; k < a.Length; k++) Assert.True(Math.Abs(a[k] - b[k]) < 1e-4, $"{config}: parameter {i}[{k}]: float64 {a[k]} vs float32 {b[k]}");
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void StepAllocatesNothingAfterTheFirst(string config)
    {
        var ps = Params(DType.Float32);
        var (opt, _) = Make(config, ps);
        for (var i = 0; i < ps.Length; i++) ps[i].Grad = Tensor.OnesLike(ps[i]);
        opt.Step();
        opt.Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0; t < 10; t++) opt.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
