using System.Numerics;
using System.Runtime.InteropServices;

namespace Loom.Optim;

/// <summary>What <see cref="Adam"/> and <see cref="AdamW"/> share: validation, state-dict keys and the kernel.</summary>
internal static class AdamRule
{
    public static readonly string[] Buffers = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    public static void Validate(OptionCheck check, double beta1, double beta2, double eps)
    {
        check.NonNegative(eps, "eps");
        check.UnitInterval(beta1, "beta1");
        check.UnitInterval(beta2, "beta2");
    }

    public static void Write(IDictionary<string, double> scalars, string prefix, double beta1, double beta2, double eps, bool amsgrad)
    {
        scalars[prefix + "betas.0"] = beta1;
        scalars[prefix + "betas.1"] = beta2;
        scalars[prefix + "eps"] = eps;
        scalars[prefix + "amsgrad"] = amsgrad ? 1 : 0;
    }

    public static (double Beta1, double Beta2, double Eps, bool Amsgrad) Read(ScalarReader scalars, string prefix) =>
        (scalars.Get(prefix + "betas.0"), scalars.Get(prefix + "betas.1"), scalars.Get(prefix + "eps"), scalars.GetBool(prefix + "amsgrad"));

    public static void Update(Tensor param, Tensor grad, ParamState state, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, bool amsgrad, bool maximize)
    {
        var m = state.Zeros(0, param);
        var v = state.Zeros(1, param);
        var vMax = amsgrad ? state.Zeros(2, param) : null;
        state.Step++;
        var c = new AdamStep(lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, state.Step);
        if (param.DType == DType.Float32)
            AdamKernel.Step(param.Span<float>(), grad.Span<float>(), m.Span<float>(), v.Span<float>(), vMax is null ? default : vMax.Span<float>(), c);
        else
            AdamKernel.Step(param.Span<double>(), grad.Span<double>(), m.Span<double>(), v.Span<double>(), vMax is null ? default : vMax.Span<double>(), c);
    }
}

internal readonly record struct AdamStep(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay,
    bool Decoupled, bool Amsgrad, bool Maximize, long Step);

/// <summary>Adam's and AdamW's update over spans: a <see cref="Vector{T}"/> loop, the tail padded into one more vector.</summary>
internal static class AdamKernel
{
    public static void Step<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, Span<T> vMax, in AdamStep c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Vector<T>.Count;
        var full = p.Length - p.Length % w;
        var ams = !vMax.IsEmpty;
        Vectors(p[..full], g[..full], m[..full], v[..full], ams ? vMax[..full] : default, c);
        var tail = p.Length - full;
        if (tail == 0) return;
        Span<T> scratch = stackalloc T[5 * w];
        scratch.Clear();
        Span<T> tp = scratch[..w], tg = scratch.Slice(w, w), tm = scratch.Slice(2 * w, w), tv = scratch.Slice(3 * w, w), tx = scratch.Slice(4 * w, w);
        p[full..].CopyTo(tp);
        g[full..].CopyTo(tg);
        m[full..].CopyTo(tm);
        v[full..].CopyTo(tv);
        if (ams) vMax[full..].CopyTo(tx);
        Vectors(tp, tg, tm, tv, ams ? tx : default, c);
        tp[..tail].CopyTo(p[full..]);
        tm[..tail].CopyTo(m[full..]);
        tv[..tail].CopyTo(v[full..]);
        if (ams) tx[..tail].CopyTo(vMax[full..]);
    }

    private static void Vectors<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, Span<T> vMax, in AdamStep c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pv = MemoryMarshal.Cast<T, Vector<T>>(p);
        var gv = MemoryMarshal.Cast<T, Vector<T>>(g);
        var mv = MemoryMarshal.Cast<T, Vector<T>>(m);
        var vv = MemoryMarshal.Cast<T, Vector<T>>(v);
        var xv = MemoryMarshal.Cast<T, Vector<T>>(vMax);
        // The scalars as PyTorch computes them, in double: bias corrections, step size, √(1 − β2ᵗ).
        var biasCorrection1 = 1 - Math.Pow(c.Beta1, c.Step);
        var biasCorrection2 = 1 - Math.Pow(c.Beta2, c.Step);
        var negStepSize = new Vector<T>(T.CreateTruncating(-(c.Lr / biasCorrection1)));
        var bc2Sqrt = new Vector<T>(T.CreateTruncating(Math.Sqrt(biasCorrection2)));
        var eps = new Vector<T>(T.CreateTruncating(c.Eps));
        var b1 = new Vector<T>(T.CreateTruncating(c.Beta1));
        var b2 = new Vector<T>(T.CreateTruncating(c.Beta2));
        var oneMinusB1 = new Vector<T>(T.CreateTruncating(1 - c.Beta1));
        var oneMinusB2 = new Vector<T>(T.CreateTruncating(1 - c.Beta2));
        var wd = new Vector<T>(T.CreateTruncating(c.WeightDecay));
        var shrink = new Vector<T>(T.CreateTruncating(1 - c.Lr * c.WeightDecay));
        var l2 = !c.Decoupled && c.WeightDecay != 0;
        for (var i = 0; i < pv.Length; i++)
        {
            var param = pv[i];
            if (c.Decoupled) param *= shrink;                      // AdamW: θ ← θ(1 − γλ)
            var grad = c.Maximize ? -gv[i] : gv[i];
            if (l2) grad += wd * param;                            // Adam: g ← g + λθ
            var mi = mv[i] * b1 + oneMinusB1 * grad;
            var vi = vv[i] * b2 + oneMinusB2 * grad * grad;
            mv[i] = mi;
            vv[i] = vi;
            if (c.Amsgrad)
            {
                vi = Vector.Max(xv[i], vi);
                xv[i] = vi;
            }
            var denom = Vector.SquareRoot(vi) / bc2Sqrt + eps;
            pv[i] = param + negStepSize * mi / denom;
        }
    }
}
