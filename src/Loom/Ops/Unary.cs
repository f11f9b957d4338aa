using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Loom.Kernels;

namespace Loom;

/// <summary>Elementwise math and activations: exp, log, sqrt, abs, pow, relu, leaky_relu, gelu, tanh, sigmoid.</summary>
public static partial class Functional
{
    /// <summary>eˣ.  ∂/∂x = g·y.</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = Map(x, "exp", static (s, d) => TensorPrimitives.Exp(s, d), static (s, d) => TensorPrimitives.Exp(s, d));
        return Autograd.Record(y, "exp", x, g => Mul(g, y));
    }

    /// <summary>ln x.  ∂/∂x = g/x.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = Map(x, "log", static (s, d) => TensorPrimitives.Log(s, d), static (s, d) => TensorPrimitives.Log(s, d));
        return Autograd.Record(y, "log", x, g => Div(g, x));
    }

    /// <summary>√x.  ∂/∂x = g/(2y).</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = Map(x, "sqrt", static (s, d) => TensorPrimitives.Sqrt(s, d), static (s, d) => TensorPrimitives.Sqrt(s, d));
        return Autograd.Record(y, "sqrt", x, g => Div(g, Mul(y, 2)));
    }

    /// <summary>|x|.  ∂/∂x = g·sign(x) (0 at 0, as PyTorch).</summary>
    public static Tensor Abs(Tensor x)
    {
        var y = Map(x, "abs", static (s, d) => TensorPrimitives.Abs(s, d), static (s, d) => TensorPrimitives.Abs(s, d));
        return Autograd.Record(y, "abs", x, g => Mul(g, Sign(x)));
    }

    /// <summary>sign(x) ∈ {−1, 0, 1} (not differentiable).</summary>
    public static Tensor Sign(Tensor x) => MapScalar(x, "sign", v => v > 0 ? 1 : v < 0 ? -1 : 0, v => v > 0 ? 1 : v < 0 ? -1 : 0);

    /// <summary>xᵖ.  ∂/∂x = g·p·xᵖ⁻¹.</summary>
    public static Tensor Pow(Tensor x, double p)
    {
        Tensor y;
        if (p == 2)
        {
            using (Autograd.NoGrad()) y = Mul(x, x);
        }
        else
        {
            var pf = (float)p;
            y = Map(x, "pow", (s, d) => TensorPrimitives.Pow(s, pf, d), (s, d) => TensorPrimitives.Pow(s, p, d));
        }
        return Autograd.Record(y, "pow", x, g => Mul(g, Mul(Pow(x, p - 1), p)));
    }

    /// <summary>max(x, 0).  ∂/∂x = g where x &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public static Tensor Relu(Tensor x)
    {
        Tensor.RequireFloat(x, "relu");
        var y = x.EmptyLike();
        if (x.DType == DType.Float32) ElementKernels.Relu<float>(x.Span<float>(), y.Span<float>());
        else ElementKernels.Relu<double>(x.Span<double>(), y.Span<double>());
        return Autograd.Record(y, "relu", x, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (g) => MaskWhere(g, y, otherwise: 0));
    }


    /// <summary>x for x &gt; 0, slope·x otherwise.  ∂/∂x = g or g·slope.</summary>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01)
    {
        var ns = negativeSlope;
        var y = MapScalar(x, "leaky_relu", v => v > 0 ? v : (float)(v * ns), v => v > 0 ? v : v * ns);
        return Autograd.Record(y, "leaky_relu", x, g => MaskWhere(g, x, otherwise: ns));
    }

    /// <summary>tanh x.  ∂/∂x = g·(1 − y²).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = Map(x, "tanh", static (s, d) => TensorPrimitives.Tanh(s, d), static (s, d) => TensorPrimitives.Tanh(s, d));
        return Autograd.Record(y, "tanh", x, g => Mul(g, RSub(1, Mul(y, y))));
    }

    /// <summary>σ(x) = 1/(1 + e⁻ˣ).  ∂/∂x = g·y·(1 − y).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = Map(x, "sigmoid", static (s, d) => TensorPrimitives.Sigmoid(s, d), static (s, d) => TensorPrimitives.Sigmoid(s, d));
        return Autograd.Record(y, "sigmoid", x, g => Mul(g, Mul(y, RSub(1, y))));
    }

    /// <summary>
    /// GELU, exact form x·Φ(x) (PyTorch's default; <paramref name="tanhApproximation"/> gives approximate='tanh').
    /// ∂/∂x = Φ(x) + x·φ(x) (exact).
    /// </summary>
    public static Tensor Gelu(Tensor x, bool tanhApproximation = false)
    {
        if (tanhApproximation)
        {
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715x³))), composed so autograd derives it.
            var inner = Mul(Add(x, Mul(Pow(x, 3), 0.044715)), Math.Sqrt(2 / Math.PI));
            return Mul(Mul(x, 0.5), Add(Tanh(inner), 1));
        }
        var y = MapScalar(x, "gelu", v => (float)(v * NormalCdf(v)), v => v * NormalCdf(v));
        return Autograd.Record(y, "gelu", x, g => Mul(g, MapScalar(x, "gelu_backward",
            v => (float)(NormalCdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI)),
            v => NormalCdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI))));
    }

    private static double NormalCdf(double v) => 0.5 * (1 + Erf(v / Math.Sqrt(2)));

    /// <summary>erf to double precision (Numerical Recipes' erfc Chebyshev fit, relative error &lt; 1.2e-7 is not enough; uses series/continued fraction).</summary>
    internal static double Erf(double x)
    {
        // Series for |x| < 2.5, continued fraction for the tail: both accurate to ~1e-15.
        var ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double sum = ax, term = ax, x2 = ax * ax;
            for (var n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                var add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc(x) = e^{-x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) evaluated bottom-up.
            var f = 0.0;
            for (var n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    /// <summary>d = g where r &gt; 0, g·o elsewhere (ReLU's and LeakyReLU's backward), 16 lanes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // an element loop: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void MaskWhere(ReadOnlySpan<float> g, ReadOnlySpan<float> r, float o, Span<float> d)
    {
        var n = d.Length;
        if (g.Length < n || r.Length < n) throw new ArgumentException("mask_where: spans shorter than the output");
        ref var gr = ref MemoryMarshal.GetReference(g);
        ref var rr = ref MemoryMarshal.GetReference(r);
        ref var dr = ref MemoryMarshal.GetReference(d);
        var i = 0;
        var vo = Vector512.Create(o);
        for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var gv = Vector512.LoadUnsafe(ref gr, (nuint)i);
            var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rr, (nuint)i), Vector512<float>.Zero);
            Vector512.ConditionalSelect(mask, gv, gv * vo).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) d[i] = r[i] > 0 ? g[i] : g[i] * o;
    }

    /// <summary>g where <paramref name="reference"/> &gt; 0, g·otherwise elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static Tensor MaskWhere(Tensor g, Tensor reference, double otherwise)
    {
        var r = g.EmptyLike();
        if (g.DType == DType.Float32)
        {
            var gs = g.Span<float>();
            var rs = reference.Span<float>();
            var d = r.Span<float>();
            MaskWhere(gs, rs, (float)otherwise, d);
        }
        else
        {
            var gs = g.Span<double>();
            var rs = reference.Span<double>();
            var d = r.Span<double>();
            for (var i = 0; i < d.Length; i++) d[i] = rs[i] > 0 ? gs[i] : gs[i] * otherwise;
        }
        return r;
    }

    internal delegate void SpanMap<T>(ReadOnlySpan<T> src, Span<T> dst);

    /// <summary>Applies a span-to-span kernel (usually a TensorPrimitives call) into a new tensor.</summary>
    internal static Tensor Map(Tensor x, string op, SpanMap<float> f32, SpanMap<double> f64)
    {
        Tensor.RequireFloat(x, op);
        var y = x.EmptyLike();
        if (x.DType == DType.Float32) f32(x.Span<float>(), y.Span<float>());
        else f64(x.Span<double>(), y.Span<double>());
        return y;
    }

    /// <summary>Applies a scalar function elementwise (for ops TensorPrimitives lacks).</summary>
    internal static Tensor MapScalar(Tensor x, string op, Func<float, float> f32, Func<double, double> f64)
    {
        Tensor.RequireFloat(x, op);
        var y = x.EmptyLike();
        if (x.DType == DType.Float32)
        {
            var s = x.Span<float>();
            var d = y.Span<float>();
            for (var i = 0; i < s.Length; i++) d[i] = f32(s[i]);
        }
        else
        {
            var s = x.Span<double>();
            var d = y.Span<double>();
            for (var i = 0; i < s.Length; i++) d[i] = f64(s[i]);
        }
        return y;
    }
}
