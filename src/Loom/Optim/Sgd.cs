using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Loom.Optim;

/// <summary>Hyper-parameters of <see cref="Sgd"/> (PyTorch's <c>torch.optim.SGD</c> arguments and defaults).</summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <summary>Momentum factor μ (≥ 0; 0 turns momentum off).</summary>
    public double Momentum { get; set; }

    /// <summary>Dampening τ of the momentum update.</summary>
    public double Dampening { get; set; }

    /// <summary>Nesterov momentum (needs Momentum &gt; 0 and Dampening = 0).</summary>
    public bool Nesterov { get; set; }

    internal override double CycledMomentum
    {
        get => Momentum;
        set => Momentum = value;
    }

    internal override void Validate(OptionCheck check)
    {
        base.Validate(check);
        check.NonNegative(Momentum, "momentum");
        check.Finite(Dampening, "dampening");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            check.Fail($"Nesterov momentum needs momentum > 0 and dampening = 0, got momentum {Momentum} and dampening {Dampening}");
    }

    internal override void Write(IDictionary<string, double> scalars, string prefix)
    {
        base.Write(scalars, prefix);
        scalars[prefix + "momentum"] = Momentum;
        scalars[prefix + "dampening"] = Dampening;
        scalars[prefix + "nesterov"] = Nesterov ? 1 : 0;
    }

    internal override void Read(ScalarReader scalars, string prefix)
    {
        base.Read(scalars, prefix);
        Momentum = scalars.Get(prefix + "momentum");
        Dampening = scalars.Get(prefix + "dampening");
        Nesterov = scalars.GetBool(prefix + "nesterov");
    }
}

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, weight decay and maximize,
/// with PyTorch's update rule (<c>torch.optim.SGD</c>): for gradient g of parameter θ,
/// <code>
/// g ← ±g + λθ
/// b ← g                       (first step)
/// b ← μ·b + (1 − τ)·g         (later steps)
/// g ← g + μ·b   (Nesterov)  or  g ← b
/// θ ← θ − γ·g
/// </code>
/// State: <c>momentum_buffer</c> (when μ ≠ 0).
/// </summary>
/// <example>
/// <code>
/// var sgd = new Sgd(model.Parameters(), new SgdOptions { Lr = 0.1, Momentum = 0.9, Nesterov = true });
/// </code>
/// </example>
public sealed class Sgd : Optimizer
{
    private static readonly string[] Buffers = ["momentum_buffer"];

    /// <summary>One group over <paramref name="parameters"/> with <paramref name="options"/> (defaults when null).</summary>
    public Sgd(IEnumerable<Tensor> parameters, SgdOptions? options = null)
        : this([new ParamGroup(parameters, options ?? new SgdOptions())])
    {
    }

    /// <summary>Several groups, each with its own <see cref="SgdOptions"/>.</summary>
    public Sgd(IEnumerable<ParamGroup> groups) : base("sgd", groups)
    {
    }

    private protected override Type OptionsType => typeof(SgdOptions);

    private protected override IReadOnlyList<string> BufferNames => Buffers;

    private protected override bool SavesStep => false;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private protected override void Update(OptimizerOptions options, Tensor param, Tensor grad, ParamState state)
    {
        var o = (SgdOptions)options;
        Tensor? buffer = null;
        var first = false;
        if (o.Momentum != 0)
        {
            first = state.Buffers[0] is null;
            buffer = state.Zeros(0, param);
        }
        state.Step++;
        var c = new SgdStep(o.Lr, o.Momentum, o.Dampening, o.WeightDecay, o.Nesterov, o.Maximize, first);
        if (param.DType == DType.Float32)
            SgdKernel.Step(param.Span<float>(), grad.Span<float>(), buffer is null ? default : buffer.Span<float>(), c);
        else
            SgdKernel.Step(param.Span<double>(), grad.Span<double>(), buffer is null ? default : buffer.Span<double>(), c);
    }
}

internal readonly record struct SgdStep(double Lr, double Momentum, double Dampening, double WeightDecay, bool Nesterov, bool Maximize, bool First);

/// <summary>SGD's update over spans: a <see cref="Vector{T}"/> loop, the tail padded into one more vector (so the
/// tail runs the same code, with the same rounding, as the body).</summary>
internal static class SgdKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Step<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, in SgdStep c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Vector<T>.Count;
        var full = p.Length - p.Length % w;
        var hasBuf = !buf.IsEmpty;
        Vectors(p[..full], g[..full], hasBuf ? buf[..full] : default, c);
        var tail = p.Length - full;
        if (tail == 0) return;
        Span<T> scratch = stackalloc T[3 * w];
        scratch.Clear();
        var tp = scratch[..w];
        var tg = scratch.Slice(w, w);
        var tb = scratch.Slice(2 * w, w);
        p[full..].CopyTo(tp);
        g[full..].CopyTo(tg);
        if (hasBuf) buf[full..].CopyTo(tb);
        Vectors(tp, tg, hasBuf ? tb : default, c);
        tp[..tail].CopyTo(p[full..]);
        if (hasBuf) tb[..tail].CopyTo(buf[full..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Vectors<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, in SgdStep c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pv = MemoryMarshal.Cast<T, Vector<T>>(p);
        var gv = MemoryMarshal.Cast<T, Vector<T>>(g);
        var bv = MemoryMarshal.Cast<T, Vector<T>>(buf);
        var negLr = new Vector<T>(T.CreateTruncating(-c.Lr));
        var wd = new Vector<T>(T.CreateTruncating(c.WeightDecay));
        var mu = new Vector<T>(T.CreateTruncating(c.Momentum));
        var keep = new Vector<T>(T.CreateTruncating(1 - c.Dampening));
        bool decay = c.WeightDecay != 0, momentum = c.Momentum != 0;
        for (var i = 0; i < pv.Length; i++)
        {
            var d = c.Maximize ? -gv[i] : gv[i];
            if (decay) d += wd * pv[i];
            if (momentum)
            {
                var b = c.First ? d : bv[i] * mu + keep * d;
                bv[i] = b;
                d = c.Nesterov ? d + mu * b : b;
            }
            pv[i] += negLr * d;
        }
    }
}
