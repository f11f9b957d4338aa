using System.Numerics.Tensors;
using Loom.Kernels;

namespace Loom.Tests.Kernels;

/// <summary>The training step's own element loops against TensorPrimitives (same IEEE results), at every tail length.</summary>
public class ElementKernelsTests
{
    private static float[] Values(Generator g, int n, bool specials)
    {
        var v = new float[n];
        for (var i = 0; i < n; i++) v[i] = (float)(g.NextDouble() * 8 - 4);
        if (specials && n >= 6)
        {
            // NaN, ±∞, ±0 and a denormal, at random places.
            float[] edges = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-42f];
            foreach (var e in edges) v[g.NextInt(n)] = e;
        }
        return v;
    }

    private static void AssertBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}[{i}] of {expected.Length}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Fact]
    public void ReluAddAndAddScalarGiveTensorPrimitivesBits()
    {
        var g = new Generator(21);
        for (var n = 0; n <= 70; n++)
        {
            var a = Values(g, n, specials: true);
            var b = Values(g, n, specials: true);
            var s = (float)(g.NextDouble() * 2 - 1);
            var (expected, actual) = (new float[n], new float[n]);

            TensorPrimitives.Max(a, 0f, expected);
            ElementKernels.Relu<float>(a, actual);
            AssertBits(expected, actual, "relu");
            Assert.All(actual, v => Assert.True(float.IsNaN(v) || v >= 0 && !float.IsNegative(v), $"relu gave {v:R}"));

            TensorPrimitives.Add(a, b, expected);
            ElementKernels.Add<float>(a, b, actual);
            AssertBits(expected, actual, "add");

            TensorPrimitives.Add(a, s, expected);
            ElementKernels.AddScalar<float>(a, s, actual);
            AssertBits(expected, actual, "add scalar");

            // In place, as the fused conv epilogue uses them.
            var inPlace = (float[])a.Clone();
            ElementKernels.AddScalar<float>(inPlace, s, inPlace);
            ElementKernels.Relu<float>(inPlace, inPlace);
            TensorPrimitives.Add(a, s, expected);
            TensorPrimitives.Max(expected, 0f, expected);
            AssertBits(expected, inPlace, "add scalar then relu in place");
        }
    }

    [Fact]
    public void DoubleReluKeepsNaNAndZeroesNegatives()
    {
        double[] x = [double.NaN, -0.0, -1e-300, 2.5, double.NegativeInfinity, double.PositiveInfinity, -3, 7, 1, -1];
        var y = new double[x.Length];
        ElementKernels.Relu<double>(x, y);
        Assert.True(double.IsNaN(y[0]));
        Assert.Equal([0, 0, 2.5, 0, double.PositiveInfinity, 0, 7, 1, 0], y[1..]);
        Assert.False(double.IsNegative(y[1]));
    }

    [Fact]
    public void SumIsWithinRoundingOfTheExactSumAndRepeatsItsBits()
    {
        var g = new Generator(22);
        for (var n = 0; n <= 1000; n += n < 70 ? 1 : 37)
        {
            var a = Values(g, n, specials: false);
            var exact = a.Sum(v => (double)v);
            var abs = a.Sum(v => Math.Abs((double)v));
            var sum = ElementKernels.Sum<float>(a);
            // Any order of float additions is within (n − 1)·u·Σ|a| of the exact sum.
            Assert.True(Math.Abs(sum - exact) <= (Math.Max(n - 1, 0) * Math.Pow(2, -24) * abs) + 1e-30, $"n = {n}: {sum:R} vs exact {exact:R}");
            Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(ElementKernels.Sum<float>(a)));
        }
        Assert.Equal(6.0, ElementKernels.Sum<double>([1.0, 2.0, 3.0]));
        Assert.True(float.IsNaN(ElementKernels.Sum<float>(Enumerable.Repeat(1f, 40).Append(float.NaN).ToArray())));
    }
}
