using System.Numerics;
using System.Runtime.InteropServices;

namespace Loom.Optim;

/// <summary>Hyper-parameters of <see cref="RmsProp"/> (PyTorch's <c>torch.optim.RMSprop</c> arguments and defaults).</summary>
public sealed record RmsPropOptions : OptimizerOptions
{
    /// <summary>Options with PyTorch's defaults (lr 1e-2, alpha 0.99, eps 1e-8).</summary>
    public RmsPropOptions() => Lr = 1e-2;

    /// <summary>Smoothing constant α of the squared-gradient average; ≥ 0.</summary>
    public double Alpha { get; set; } = 0.99;

    /// <summary>ε added to the denominator; ≥ 0.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Momentum factor μ; ≥ 0 (0 turns momentum off).</summary>
    public double Momentum { get; set; }

    /// <summary>Centered RMSprop: normalise by an estimate of the gradient's variance instead of its second moment.</summary>
    public bool Centered { get; set; }

    internal override double CycledMomentum
    {
        get => Momentum;
        set => Momentum = value;
    }

    internal override void Validate(OptionCheck check)
    {
        base.Validate(check);
        check.NonNegative(Eps, "eps");
        check.NonNegative(Momentum, "momentum");
        check.NonNegative(Alpha, "alpha");
    }

    internal override void Write(IDictionary<string, double> scalars, string prefix)
    {
        base.Write(scalars, prefix);
        scalars[prefix + "alpha"] = Alpha;
        scalars[prefix + "eps"] = Eps;
        scalars[prefix + "momentum"] = Momentum;
        scalars[prefix + "centered"] = Centered ? 1 : 0;
    }

    internal override void Read(ScalarReader scalars, string prefix)
    {
        base.Read(scalars, prefix);
        Alpha = scalars.Get(prefix + "alpha");
        Eps = scalars.Get(prefix + "eps");
        Momentum = scalars.Get(prefix + "momentum");
        Centered = scalars.GetBool(prefix + "centered");
    }
}

/// <summary>
/// RMSprop with PyTorch's update rule (<c>torch.optim.RMSprop</c>):
/// <code>
/// g ← ±g + λθ
/// s ← α·s + (1 − α)·g²
/// a ← α·a + (1 − α)·g;   d ← √(s − a²) + ε     (centered)
///                          d ← √s + ε           (otherwise)
/// b ← μ·b + g / d;   θ ← θ − γ·b                (μ &gt; 0)
/// θ ← θ − γ·g / d                                (μ = 0)
/// </code>
/// State: <c>step</c>, <c>square_avg</c> (s), <c>momentum_buffer</c> (b, when μ &gt; 0), <c>grad_avg</c> (a, centered).
/// </summary>
/// <example>
/// <code>
/// var rms = new RmsProp(model.Parameters(), new RmsPropOptions { Lr = 1e-3, Momentum = 0.9, Centered = true });
/// </code>
/// </example>
public sealed class RmsProp : Optimizer
{
    private static readonly string[] Buffers = ["square_avg", "momentum_buffer", "grad_avg"];

    /// <summary>One group over <paramref name="parameters"/> with <paramref name="options"/> (defaults when null).</summary>
    public RmsProp(IEnumerable<Tensor> parameters, RmsPropOptions? options = null)
        : this([new ParamGroup(parameters, options ?? new RmsPropOptions())])
    {
    }

    /// <summary>Several groups, each with its own <see cref="RmsPropOptions"/>.</summary>
    public RmsProp(IEnumerable<ParamGroup> groups) : base("rmsprop", groups)
    {
    }

    private protected override Type OptionsType => typeof(RmsPropOptions);

    private protected override IReadOnlyList<string> BufferNames => Buffers;

    private protected override void Update(OptimizerOptions options, Tensor param, Tensor grad, ParamState state)
    {
        var o = (RmsPropOptions)options;
        var square = state.Zeros(0, param);
        var momentum = o.Momentum > 0 ? state.Zeros(1, param) : null;
        var gradAvg = o.Centered ? state.Zeros(2, param) : null;
        state.Step++;
        var c = new RmsPropStep(o.Lr, o.Alpha, o.Eps, o.WeightDecay, o.Momentum, o.Maximize);
        if (param.DType == DType.Float32)
        {
            RmsPropKernel.Step(param.Span<float>(), grad.Span<float>(), square.Span<float>(),
                momentum is null ? default : momentum.Span<float>(), gradAvg is null ? default : gradAvg.Span<float>(), c);
        }
        else
        {
            RmsPropKernel.Step(param.Span<double>(), grad.Span<double>(), square.Span<double>(),
                momentum is null ? default : momentum.Span<double>(), gradAvg is null ? default : gradAvg.Span<double>(), c);
        }
    }
}

internal readonly record struct RmsPropStep(double Lr, double Alpha, double Eps, double WeightDecay, double Momentum, bool Maximize);

/// <summary>RMSprop's update over spans: a <see cref="Vector{T}"/> loop, the tail padded into one more vector.
/// <c>buf</c> is empty without momentum, <c>gradAvg</c> empty unless centered.</summary>
internal static class RmsPropKernel
{
    public static void Step<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> square, Span<T> buf, Span<T> gradAvg, in RmsPropStep c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Vector<T>.Count;
        var full = p.Length - p.Length % w;
        bool hasBuf = !buf.IsEmpty, centered = !gradAvg.IsEmpty;
        Vectors(p[..full], g[..full], square[..full], hasBuf ? buf[..full] : default, centered ? gradAvg[..full] : default, c);
        var tail = p.Length - full;
        if (tail == 0) return;
        Span<T> scratch = stackalloc T[5 * w];
        scratch.Clear();
        Span<T> tp = scratch[..w], tg = scratch.Slice(w, w), ts = scratch.Slice(2 * w, w), tb = scratch.Slice(3 * w, w), ta = scratch.Slice(4 * w, w);
        p[full..].CopyTo(tp);
        g[full..].CopyTo(tg);
        square[full..].CopyTo(ts);
        if (hasBuf) buf[full..].CopyTo(tb);
        if (centered) gradAvg[full..].CopyTo(ta);
        Vectors(tp, tg, ts, hasBuf ? tb : default, centered ? ta : default, c);
        tp[..tail].CopyTo(p[full..]);
        ts[..tail].CopyTo(square[full..]);
        if (hasBuf) tb[..tail].CopyTo(buf[full..]);
        if (centered) ta[..tail].CopyTo(gradAvg[full..]);
    }

    private static void Vectors<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> square, Span<T> buf, Span<T> gradAvg, in RmsPropStep c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pv = MemoryMarshal.Cast<T, Vector<T>>(p);
        var gv = MemoryMarshal.Cast<T, Vector<T>>(g);
        var sv = MemoryMarshal.Cast<T, Vector<T>>(square);
        var bv = MemoryMarshal.Cast<T, Vector<T>>(buf);
        var av = MemoryMarshal.Cast<T, Vector<T>>(gradAvg);
        bool hasBuf = !buf.IsEmpty, centered = !gradAvg.IsEmpty, decay = c.WeightDecay != 0;
        var negLr = new Vector<T>(T.CreateTruncating(-c.Lr));
        var alpha = new Vector<T>(T.CreateTruncating(c.Alpha));
        var oneMinusAlpha = new Vector<T>(T.CreateTruncating(1 - c.Alpha));
        var eps = new Vector<T>(T.CreateTruncating(c.Eps));
        var wd = new Vector<T>(T.CreateTruncating(c.WeightDecay));
        var mu = new Vector<T>(T.CreateTruncating(c.Momentum));
        for (var i = 0; i < pv.Length; i++)
        {
            var grad = c.Maximize ? -gv[i] : gv[i];
            if (decay) grad += wd * pv[i];
            var s = sv[i] * alpha + oneMinusAlpha * grad * grad;
            sv[i] = s;
            Vector<T> avg;
            if (centered)
            {
                var a = av[i] * alpha + oneMinusAlpha * grad;
                av[i] = a;
                avg = Vector.SquareRoot(s - a * a);
            }
            else
            {
                avg = Vector.SquareRoot(s);
            }
            avg += eps;
            if (hasBuf)
            {
                var b = bv[i] * mu + grad / avg;
                bv[i] = b;
                pv[i] += negLr * b;
            }
            else
            {
                pv[i] += negLr * grad / avg;
            }
        }
    }
}
