using System.Numerics;
using Loom.Optim;

namespace Loom.Tests.Optim;

/// <summary>The vectorised update kernels against plain scalar loops written in PyTorch's operation order, over
/// lengths around the vector width (the padded tail included): the results must be bitwise equal.</summary>
public class OptimKernelTests
{
    private static IEnumerable<int> Lengths<T>() => Enumerable.Range(1, 3 * Vector<T>.Count + 2);

    private static T[] Random<T>(Random rng, int n, double scale = 1, bool positive = false) where T : IFloatingPointIeee754<T> =>
        [.. Enumerable.Range(0, n).Select(_ => T.CreateTruncating(positive ? scale * rng.NextDouble() : scale * (2 * rng.NextDouble() - 1)))];

    [Fact]
    public void SgdKernelMatchesScalarLoops()
    {
        CheckSgd<float>();
        CheckSgd<double>();
    }

    private static void CheckSgd<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(1);
        foreach (var n in Lengths<T>())
        {
            foreach (var (nesterov, first, maximize) in new[] { (false, true, false), (false, false, true), (true, false, false) })
            {
                var c = new SgdStep(0.1, 0.9, nesterov ? 0 : 0.2, 0.01, nesterov, maximize, first);
                T[] p = Random<T>(rng, n), g = Random<T>(rng, n), b = Random<T>(rng, n);
                T[] p2 = [.. p], b2 = [.. b];
                SgdKernel.Step(p, g, b, c);
                var lr = T.CreateTruncating(-c.Lr);
                var wd = T.CreateTruncating(c.WeightDecay);
                var mu = T.CreateTruncating(c.Momentum);
                var keep = T.CreateTruncating(1 - c.Dampening);
                for (var i = 0; i < n; i++)
                {
                    var d = maximize ? -g[i] : g[i];
                    d += wd * p2[i];
                    b2[i] = first ? d : b2[i] * mu + keep * d;
                    d = nesterov ? d + mu * b2[i] : b2[i];
                    p2[i] += lr * d;
                }
                Assert.Equal(p2, p);
                Assert.Equal(b2, b);
            }
        }
    }

    [Fact]
    public void AdamKernelMatchesScalarLoops()
    {
        CheckAdam<float>();
        CheckAdam<double>();
    }

    private static void CheckAdam<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(2);
        foreach (var n in Lengths<T>())
        {
            foreach (var (decoupled, amsgrad) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                var c = new AdamStep(0.01, 0.8, 0.99, 1e-6, 0.1, decoupled, amsgrad, Maximize: n % 2 == 0, Step: 3);
                T[] p = Random<T>(rng, n), g = Random<T>(rng, n), m = Random<T>(rng, n), v = Random<T>(rng, n, 0.1, positive: true);
                T[] x = amsgrad ? Random<T>(rng, n, 0.1, positive: true) : [];
                T[] p2 = [.. p], m2 = [.. m], v2 = [.. v], x2 = [.. x];
                AdamKernel.Step(p, g, m, v, x, c);
                var bc1 = 1 - Math.Pow(c.Beta1, c.Step);
                var bc2 = 1 - Math.Pow(c.Beta2, c.Step);
                var negStep = T.CreateTruncating(-(c.Lr / bc1));
                var bc2Sqrt = T.CreateTruncating(Math.Sqrt(bc2));
                T b1 = T.CreateTruncating(c.Beta1), b2 = T.CreateTruncating(c.Beta2);
                T omb1 = T.CreateTruncating(1 - c.Beta1), omb2 = T.CreateTruncating(1 - c.Beta2);
                T wd = T.CreateTruncating(c.WeightDecay), eps = T.CreateTruncating(c.Eps), shrink = T.CreateTruncating(1 - c.Lr * c.WeightDecay);
                for (var i = 0; i < n; i++)
                {
                    if (decoupled) p2[i] *= shrink;
                    var grad = c.Maximize ? -g[i] : g[i];
                    if (!decoupled) grad += wd * p2[i];
                    m2[i] = m2[i] * b1 + omb1 * grad;
                    v2[i] = v2[i] * b2 + omb2 * grad * grad;
                    var denomSource = v2[i];
                    if (amsgrad)
                    {
                        x2[i] = T.Max(x2[i], v2[i]);
                        denomSource = x2[i];
                    }
                    p2[i] += negStep * m2[i] / (T.Sqrt(denomSource) / bc2Sqrt + eps);
                }
                Assert.Equal(p2, p);
                Assert.Equal(m2, m);
                Assert.Equal(v2, v);
                Assert.Equal(x2, x);
            }
        }
    }

    [Fact]
    public void RmsPropKernelMatchesScalarLoops()
    {
        CheckRmsProp<float>();
        CheckRmsProp<double>();
    }

    private static void CheckRmsProp<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(3);
        foreach (var n in Lengths<T>())
        {
            foreach (var (momentum, centered) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                var c = new RmsPropStep(0.01, 0.9, 1e-6, 0.05, momentum ? 0.5 : 0, Maximize: n % 3 == 0);
                T[] p = Random<T>(rng, n), g = Random<T>(rng, n), s = Random<T>(rng, n, 2, positive: true);
                T[] b = momentum ? Random<T>(rng, n) : [], a = centered ? Random<T>(rng, n, 0.1) : [];
                T[] p2 = [.. p], s2 = [.. s], b2 = [.. b], a2 = [.. a];
                RmsPropKernel.Step(p, g, s, b, a, c);
                T lr = T.CreateTruncating(-c.Lr), alpha = T.CreateTruncating(c.Alpha), oma = T.CreateTruncating(1 - c.Alpha);
                T eps = T.CreateTruncating(c.Eps), wd = T.CreateTruncating(c.WeightDecay), mu = T.CreateTruncating(c.Momentum);
                for (var i = 0; i < n; i++)
                {
                    var grad = c.Maximize ? -g[i] : g[i];
                    grad += wd * p2[i];
                    s2[i] = s2[i] * alpha + oma * grad * grad;
                    T avg;
                    if (centered)
                    {
                        a2[i] = a2[i] * alpha + oma * grad;
                        avg = T.Sqrt(s2[i] - a2[i] * a2[i]);
                    }
                    else
                    {
                        avg = T.Sqrt(s2[i]);
                    }
                    avg += eps;
                    if (momentum)
                    {
                        b2[i] = b2[i] * mu + grad / avg;
                        p2[i] += lr * b2[i];
                    }
                    else
                    {
                        p2[i] += lr * grad / avg;
                    }
                }
                Assert.Equal(p2, p);
                Assert.Equal(s2, s);
                Assert.Equal(b2, b);
                Assert.Equal(a2, a);
            }
        }
    }
}
