using Loom.Kernels;

namespace Loom.Tests.Kernels;

/// <summary>
/// The one-pass float32 LSTM step kernels against the general kernels run in float64 (TensorPrimitives' σ and tanh,
/// the Vector&lt;T&gt; loops): every output within float32 rounding.
/// </summary>
public class RecurrentLstmStepTests
{
    private static double[] Random(Generator g, int count, double scale) => [.. Enumerable.Range(0, count).Select(_ => (g.NextDouble() * 2 - 1) * scale)];

    private static float[] F(double[] x) => [.. x.Select(v => (float)v)];

    private static void Close(double[] expected, float[] actual, string what)
    {
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]:R} vs {expected[i]:R}");
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(5, 32)]
    [InlineData(3, 128)]
    public void ForwardAndBackwardAgreeWithTheGeneralKernelsInFloat64(int n, int h)
    {
        Assert.SkipUnless(RecurrentLstmStep.Takes(h), "no AVX-512F: the general kernels run");
        var g = new Generator((ulong)(n * 1000 + h));
        var gates = Random(g, n * 4 * h, 4);
        var cPrev = Random(g, n * h, 2);
        var (c, tanhC, hNext) = (new double[n * h], new double[n * h], new double[n * h]);
        var gatesF = F(gates);
        var (cF, tanhCF, hNextF) = (new float[n * h], new float[n * h], new float[n * h]);
        RecurrentKernels.LstmForward<double>(n, h, gates, cPrev, c, tanhC, hNext);
        RecurrentLstmStep.Forward(n, h, gatesF, F(cPrev), cF, tanhCF, hNextF);
        Close(gates, gatesF, "activations");
        Close(c, cF, "c");
        Close(tanhC, tanhCF, "tanh c");
        Close(hNext, hNextF, "h");

        for (var b = 0; b < n; b++)
        {
            var carry = Random(g, h, 1);
            var dy = Random(g, h, 1);
            var dc = Random(g, h, 1);
            var (carryF, dcF) = (F(carry), F(dc));
            var row = gates.AsSpan(b * 4 * h, 4 * h).ToArray();
            var rowF = F(row);
            RecurrentKernels.LstmBackward<double>(row, cPrev.AsSpan(b * h, h), tanhC.AsSpan(b * h, h), carry, dy, dc);
            RecurrentLstmStep.Backward(rowF, F(cPrev.AsSpan(b * h, h).ToArray()), F(tanhC.AsSpan(b * h, h).ToArray()), carryF, F(dy), dcF);
            Close(row, rowF, $"row {b} ∂pre");
            Close(dc, dcF, $"row {b} ∂c_prev");
            Assert.All(carryF, v => Assert.Equal(0f, v));
        }
    }

    [Theory]
    [InlineData(1, 16, 16)]
    [InlineData(7, 32, 32)]
    [InlineData(5, 16, 48)]
    public void BackwardRowsGivesTheBitsOfTheRowKernel(int n, int h, int dyStride)
    {
        Assert.SkipUnless(RecurrentLstmStep.Takes(h), "no AVX-512F: the general kernels run");
        var g = new Generator((ulong)(n * 100 + h + dyStride));
        var gates = F(Random(g, n * 4 * h, 1));
        var cPrev = F(Random(g, n * h, 2));
        var tanhC = F(Random(g, n * h, 1));
        var carry = F(Random(g, n * h, 1));
        var dy = F(Random(g, (n - 1) * dyStride + h, 1));
        var dc = F(Random(g, n * h, 1));
        var (gatesRows, carryRows, dcRows) = ((float[])gates.Clone(), (float[])carry.Clone(), (float[])dc.Clone());
        for (var b = 0; b < n; b++)
        {
            RecurrentLstmStep.Backward(gates.AsSpan(b * 4 * h, 4 * h), cPrev.AsSpan(b * h, h), tanhC.AsSpan(b * h, h), carry.AsSpan(b * h, h),
                dy.AsSpan(b * dyStride, h), dc.AsSpan(b * h, h));
        }
        RecurrentLstmStep.BackwardRows(n, h, gatesRows, cPrev, tanhC, carryRows, dy, dyStride, dcRows);
        Assert.Equal(gates, gatesRows);
        Assert.Equal(dc, dcRows);
        Assert.Equal(carry, carryRows);
        Assert.All(carryRows, v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => RecurrentLstmStep.BackwardRows(n, h, gatesRows, cPrev, tanhC, carryRows, dy.AsSpan(1), dyStride, dcRows));
    }

    [Fact]
    public void TakesWholeVectorsOfUnitsOnly()
    {
        Assert.False(RecurrentLstmStep.Takes(12));
        Assert.False(RecurrentLstmStep.Takes(0));
        Assert.Equal(RecurrentActivations.Supported, RecurrentLstmStep.Takes(16));
    }
}
