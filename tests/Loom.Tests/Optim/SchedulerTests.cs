using Loom.Optim;

namespace Loom.Tests.Optim;

public class SchedulerTests
{
    private static Sgd Sgd(params double[] lrs) =>
        new([.. lrs.Select(lr => new ParamGroup([Tensor.Zeros(new Shape(2), DType.Float64).RequiresGrad_()], new SgdOptions { Lr = lr, Momentum = 0.9 }))]);

    private static List<double> Run(Sgd opt, LrScheduler sched, int steps)
    {
        var lrs = new List<double> { opt.ParamGroups[0].Lr };
        for (var t = 0; t < steps; t++)
        {
            opt.Step();
            sched.Step();
            lrs.Add(opt.ParamGroups[0].Lr);
            Assert.Equal(opt.ParamGroups[0].Lr, sched.GetLastLr()[0]);
        }
        return lrs;
    }

    private static void Near(IEnumerable<double> expected, IEnumerable<double> actual) =>
        Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) <= 1e-12 * Math.Max(1, Math.Abs(a)));

    [Fact]
    public void PyTorchDocExamples()
    {
        // StepLR(step_size=30, gamma=0.1) from lr 0.05: 0.05 below epoch 30, 0.005 below 60, 0.0005 below 90.
        var opt = Sgd(0.05);
        var lrs = Run(opt, new StepLR(opt, 30), 90);
        Near([0.05, 0.05, 0.005, 0.005, 0.0005], [lrs[0], lrs[29], lrs[30], lrs[59], lrs[60]]);

        // LinearLR(start_factor=0.5, total_iters=4) from 0.05: 0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05.
        opt = Sgd(0.05);
        Near([0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05], Run(opt, new LinearLR(opt, 0.5, totalIters: 4), 5));

        // MultiStepLR(milestones=[30, 80], gamma=0.1) from 0.05.
        opt = Sgd(0.05);
        lrs = Run(opt, new MultiStepLR(opt, [80, 30]), 100);
        Near([0.05, 0.005, 0.005, 0.0005], [lrs[29], lrs[30], lrs[79], lrs[80]]);
    }

    [Fact]
    public void CosineEndpoints()
    {
        var opt = Sgd(0.1);
        var lrs = Run(opt, new CosineAnnealingLR(opt, 10, 0.01), 20);
        Near([0.1, 0.055, 0.01, 0.055, 0.1], [lrs[0], lrs[5], lrs[10], lrs[15], lrs[20]]);
    }

    [Fact]
    public void OneCycleShape()
    {
        var opt = Sgd(1);
        var sched = new OneCycleLR(opt, maxLr: 1.0, totalSteps: 100, pctStart: 0.25, annealStrategy: AnnealStrategy.Linear, divFactor: 10, finalDivFactor: 100);
        var momenta = new List<double> { ((SgdOptions)opt.ParamGroups[0].Options).Momentum };
        var lrs = new List<double> { opt.ParamGroups[0].Lr };
        for (var t = 0; t < 99; t++)
        {
            sched.Step();
            lrs.Add(opt.ParamGroups[0].Lr);
            momenta.Add(((SgdOptions)opt.ParamGroups[0].Options).Momentum);
        }
        Near([0.1, 1.0, 0.001], [lrs[0], lrs[24], lrs[99]]);
        Near([0.95, 0.85, 0.95], [momenta[0], momenta[24], momenta[99]]);
        Assert.Equal(0.1, opt.ParamGroups[0].InitialLr);
        sched.Step();   // the 100th call computes step 100, past the end, as PyTorch allows
        Assert.Equal("one_cycle_lr: Step() called 101 times but total_steps is 100; the cycle is over",
            Assert.Throws<LoomException>(sched.Step).Message);
    }

    [Fact]
    public void PlateauCutsAfterPatience()
    {
        var opt = Sgd(0.1, 0.01);
        var sched = new ReduceLROnPlateau(opt, factor: 0.5, patience: 1, minLrs: [0.02, 0.0]);
        var lrs = new List<double>();
        foreach (var metric in new[] { 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5 })
        {
            sched.Step(metric);
            lrs.Add(opt.ParamGroups[0].Lr);
        }
        Near([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025], lrs);
        Assert.Equal(0.01 / 4, opt.ParamGroups[1].Lr, 15);   // the second group: the same two cuts, no floor
        Assert.Equal(0.5, sched.Best);
        sched.Step(1);
        sched.Step(1);   // the third cut would give 0.0125: floored at min_lr
        Assert.Equal(0.02, opt.ParamGroups[0].Lr);
        Assert.Equal(0.01 / 8, opt.ParamGroups[1].Lr, 15);
    }

    [Fact]
    public void SequentialRestartsTheNextScheduleAtTheMilestone()
    {
        var opt = Sgd(0.1);
        var warm = new LinearLR(opt, 0.1, totalIters: 3);
        var decay = new StepLR(opt, 2, 0.5);
        var lrs = Run(opt, new SequentialLR(opt, [warm, decay], [3]), 7);
        Near([0.01, 0.04, 0.07, 0.1, 0.1, 0.05, 0.05, 0.025], lrs);
    }

    public static TheoryData<string> Schedules => ["step", "multistep", "cosine", "linear", "one_cycle", "sequential", "plateau"];

    private static ILrScheduler Make(string kind, Sgd opt) => kind switch
    {
        "step" => new StepLR(opt, 3, 0.5),
        "multistep" => new MultiStepLR(opt, [2, 5, 9], 0.3),
        "cosine" => new CosineAnnealingLR(opt, 7, 0.001),
        "linear" => new LinearLR(opt, 0.2, 0.9, 6),
        "one_cycle" => new OneCycleLR(opt, [0.4, 0.04], 20, threePhase: true),
        "sequential" => new SequentialLR(opt, [new LinearLR(opt, 0.5, totalIters: 3), new CosineAnnealingLR(opt, 10), new StepLR(opt, 2)], [3, 8]),
        _ => new ReduceLROnPlateau(opt, patience: 1, cooldown: 2, factor: 0.7),
    };

    private static void Advance(Sgd opt, ILrScheduler sched, int from, int to)
    {
        for (var t = from; t < to; t++)
        {
            opt.Step();
            if (sched is ReduceLROnPlateau p) p.Step(t % 4 == 0 ? 1.0 / (t + 1) : 2);
            else ((LrScheduler)sched).Step();
        }
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void ResumingFromAStateDictGivesTheSameRates(string kind)
    {
        var optA = Sgd(0.1, 0.01);
        var a = Make(kind, optA);
        Advance(optA, a, 0, 20);

        var optB = Sgd(0.1, 0.01);
        var b = Make(kind, optB);
        Advance(optB, b, 0, 7);
        var optJson = optB.StateDict().ToJson();
        var schedJson = b.StateDict().ToJson();

        var optC = Sgd(0.1, 0.01);
        var c = Make(kind, optC);
        optC.LoadStateDict(OptimizerStateDict.FromJson(optJson, new Dictionary<string, Tensor>()));
        c.LoadStateDict(SchedulerStateDict.FromJson(schedJson));
        Advance(optC, c, 7, 20);

        Assert.Equal(a.GetLastLr(), c.GetLastLr());
        for (var g = 0; g < 2; g++) Assert.Equal(optA.ParamGroups[g].Options, optC.ParamGroups[g].Options);
        Assert.Equal(a.StateDict().Scalars, c.StateDict().Scalars);
    }

    [Fact]
    public void PlateauStateSurvivesInfinityInJson()
    {
        var sched = new ReduceLROnPlateau(Sgd(0.1), mode: PlateauMode.Max);
        var json = sched.StateDict().ToJson();
        Assert.Contains("\"best\": \"-Infinity\"", json);
        var back = SchedulerStateDict.FromJson(json);
        Assert.Equal(double.NegativeInfinity, back.Scalars["best"]);
        Assert.Equal("reduce_lr_on_plateau", back.Kind);
        Assert.Contains("cannot load the state of a 'reduce_lr_on_plateau' schedule",
            Assert.Throws<LoomException>(() => new StepLR(Sgd(0.1), 2).LoadStateDict(back)).Message);
    }

    public static TheoryData<string, string> BadSchedules => new()
    {
        { "step size", "step_lr: step_size must be ≥ 1, got 0" },
        { "cosine t max", "cosine_annealing_lr: T_max must be ≥ 1, got 0" },
        { "linear start 0", "linear_lr: start_factor must be in (0, 1], got 0" },
        { "linear end", "linear_lr: end_factor must be in [0, 1], got 1.5" },
        { "linear iters", "linear_lr: total_iters must be ≥ 1, got 0" },
        { "one cycle empty phase", "one_cycle_lr: pct_start 0.1 with total_steps 10 leaves phase 1 of the cycle no steps; raise total_steps or change pct_start" },
        { "one cycle pct", "one_cycle_lr: pct_start must be in [0, 1], got 1.2" },
        { "one cycle max lrs", "one_cycle_lr: expected 2 values of max_lr (one per parameter group), got 1" },
        { "one cycle div", "one_cycle_lr: div_factor must be > 0, got 0" },
        { "sequential milestones", "sequential_lr: expected 1 milestones for 2 schedules, got 0" },
        { "sequential order", "sequential_lr: milestones must increase, got 5, 3" },
        { "sequential optimiser", "sequential_lr: schedule 1 (step_lr) was made for another optimiser" },
        { "plateau factor", "reduce_lr_on_plateau: factor must be in (0, 1), got 1" },
        { "plateau patience", "reduce_lr_on_plateau: patience must be ≥ 0, got -1" },
        { "plateau min lrs", "reduce_lr_on_plateau: expected 2 values of min_lr (one per parameter group), got 3" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public void BadScheduleArgumentsAreNamed(string name, string message)
    {
        var opt = Sgd(0.1, 0.01);
        Action make = name switch
        {
            "step size" => () => _ = new StepLR(opt, 0),
            "cosine t max" => () => _ = new CosineAnnealingLR(opt, 0),
            "linear start 0" => () => _ = new LinearLR(opt, 0),
            "linear end" => () => _ = new LinearLR(opt, 0.5, 1.5),
            "linear iters" => () => _ = new LinearLR(opt, totalIters: 0),
            "one cycle empty phase" => () => _ = new OneCycleLR(opt, 0.1, 10, pctStart: 0.1),
            "one cycle pct" => () => _ = new OneCycleLR(opt, 0.1, 10, pctStart: 1.2),
            "one cycle max lrs" => () => _ = new OneCycleLR(opt, [0.1], 10),
            "one cycle div" => () => _ = new OneCycleLR(opt, 0.1, 10, divFactor: 0),
            "sequential milestones" => () => _ = new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 3)], []),
            "sequential order" => () => _ = new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 3), new StepLR(opt, 4)], [5, 3]),
            "sequential optimiser" => () => _ = new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(Sgd(0.1, 0.1), 3)], [5]),
            "plateau factor" => () => _ = new ReduceLROnPlateau(opt, factor: 1),
            "plateau patience" => () => _ = new ReduceLROnPlateau(opt, patience: -1),
            "plateau min lrs" => () => _ = new ReduceLROnPlateau(opt, minLrs: [0, 0, 0]),
            _ => throw new ArgumentException(name),
        };
        Assert.Equal(message, Assert.Throws<LoomException>(make).Message);
    }

    [Fact]
    public void FirstScheduleRecordsTheInitialLr()
    {
        var opt = Sgd(0.1);
        _ = new LinearLR(opt, 0.5);
        Assert.Equal(0.05, opt.ParamGroups[0].Lr, 15);
        var cosine = new CosineAnnealingLR(opt, 10);   // a second schedule keeps the first's base rate
        Assert.Equal(0.1, cosine.BaseLrs[0]);
        Assert.Equal(0.1, opt.ParamGroups[0].InitialLr);
    }
}
