using System.Runtime.Intrinsics.X86;
using Loom.Kernels;

namespace Loom.Tests.Kernels;

/// <summary>The LSTM's float32 sigmoid against the exact value, at the edges, and independent of where a value sits.</summary>
public class RecurrentActivationsTests
{
    private static float Ulp(float v) => MathF.BitIncrement(MathF.Abs(v)) - MathF.Abs(v);

    [Fact]
    public void SigmoidIsWithinFourUlpOfTheExactValue()
    {
        Assert.SkipUnless(RecurrentActivations.Supported, "no AVX-512F: TensorPrimitives.Sigmoid runs instead");
        // Every 1/1024 over [-40, 40] (σ from 4e-18 to 1), plus random values up to ±90.
        var xs = Enumerable.Range(-40 * 1024, 80 * 1024 + 1).Select(i => i / 1024f).ToList();
        var g = new Generator(11);
        for (var i = 0; i < 20000; i++) xs.Add((float)(g.NextDouble() * 180 - 90));
        var values = xs.ToArray();
        RecurrentActivations.Sigmoid(values);
        var worst = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            var exact = 1 / (1 + Math.Exp(-(double)xs[i]));
            if (exact < 1e-37) continue; // below the clamp of e^x (see RecurrentActivations.Exp): checked separately
            var err = Math.Abs(values[i] - exact) / Ulp((float)exact);
            worst = Math.Max(worst, err);
            Assert.True(err <= 4, $"σ({xs[i]:R}) = {values[i]:R}, exact {exact:R}: {err:F2} ulp");
        }
        Assert.True(worst > 0); // the comparison ran on inexact values
    }

    [Fact]
    public void TanhIsWithinFourUlpOfTheExactValue()
    {
        Assert.SkipUnless(RecurrentActivations.Supported, "no AVX-512F: TensorPrimitives.Tanh runs instead");
        // Every 1/4096 over [-12, 12] (both branches and the switch at |x| = 0.625), tiny values, random values to ±50.
        var xs = Enumerable.Range(-12 * 4096, 24 * 4096 + 1).Select(i => i / 4096f).ToList();
        xs.AddRange([1e-30f, -1e-30f, 1e-7f, -3e-5f, 0.6249999f, 0.625f, -0.625f]);
        var g = new Generator(12);
        for (var i = 0; i < 20000; i++) xs.Add((float)(g.NextDouble() * 100 - 50));
        var values = xs.ToArray();
        RecurrentActivations.Tanh(values);
        for (var i = 0; i < values.Length; i++)
        {
            var exact = Math.Tanh(xs[i]);
            var err = exact == 0 ? Math.Abs(values[i]) : Math.Abs(values[i] - exact) / Ulp((float)exact);
            Assert.True(err <= 4, $"tanh({xs[i]:R}) = {values[i]:R}, exact {exact:R}: {err:F2} ulp");
        }
        float[] edges = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, 100f, -100f];
        RecurrentActivations.Tanh(edges);
        Assert.True(float.IsNaN(edges[0]));
        Assert.Equal([1f, -1f, 0f, 1f, -1f], edges[1..]);
    }

    [Fact]
    public void SigmoidEdges()
    {
        Assert.SkipUnless(RecurrentActivations.Supported, "no AVX-512F");
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 100f, -100f, 88.5f, -88.5f];
        RecurrentActivations.Sigmoid(x);
        Assert.True(float.IsNaN(x[0]));
        Assert.Equal(1f, x[1]);
        Assert.InRange(x[2], 0f, 1e-38f);
        Assert.Equal(0.5f, x[3]);
        Assert.Equal(0.5f, x[4]);
        Assert.Equal(1f, x[5]);
        Assert.InRange(x[6], 0f, 1e-38f);
        Assert.Equal(1f, x[7]);
        Assert.InRange(x[8], 0f, 1e-38f);
    }

    [Fact]
    public void AValueDoesNotDependOnItsPositionInTheSpan()
    {
        Assert.SkipUnless(RecurrentActivations.Supported, "no AVX-512F");
        var g = new Generator(5);
        var x = Enumerable.Range(0, 53).Select(_ => (float)(g.NextDouble() * 20 - 10)).ToArray();
        var whole = (float[])x.Clone();
        RecurrentActivations.Sigmoid(whole);
        // Shifted starts and short lengths put each value in another lane, or in the padded tail.
        foreach (var start in new[] { 1, 3, 17, 40 })
        {
            foreach (var length in new[] { 1, 5, 13 })
            {
                var part = x.AsSpan(start, length).ToArray();
                RecurrentActivations.Sigmoid(part);
                Assert.Equal(whole.AsSpan(start, length).ToArray(), part);
            }
        }
    }
}
