using Loom.Geometry;

namespace Loom.Tests.Seed;

/// <summary>
/// Problem 1.1 of the seed sheet (homework 2): convolution output sizes, and the 1-D convolution of part (c) with
/// its output, both Jacobians and the weight gradient, each against the closed form
/// f[r] = Σ_c Σ_k W[c,k]·x[c, 2r+k] (0-based) computed here independently of Loom.
/// </summary>
public class Problem11Tests
{
    private const int Channels = 5, Length = 7, Kernel = 3, Stride = 2, Outputs = 3;

    // Integer-valued data keeps every product and sum exact in float64, so the checks are equalities.
    private static double XValue(int c, int j) => ((c * Length + j) * 7 % 13) - 6;

    private static double WValue(int c, int k) => ((c * Kernel + k) * 5 % 11) - 5;

    private static Tensor X() => Tensor.FromArray(Fill(Channels, Length, XValue), 1, Channels, Length);

    private static Tensor W() => Tensor.FromArray(Fill(Channels, Kernel, WValue), 1, Channels, Kernel);

    private static double[] Fill(int rows, int cols, Func<int, int, double> f)
    {
        var data = new double[rows * cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++) data[r * cols + c] = f(r, c);
        return data;
    }

    /// <summary>The closed form of part (c): f[r] = Σ_c Σ_k W[c,k]·x[c, 2r+k].</summary>
    private static double ClosedForm(int r)
    {
        var sum = 0.0;
        for (var c = 0; c < Channels; c++)
            for (var k = 0; k < Kernel; k++) sum += WValue(c, k) * XValue(c, Stride * r + k);
        return sum;
    }

    [Fact]
    public void PartA_21x12InputWith4x5KernelStride4Gives5x2()
    {
        Assert.Equal(5, ConvGeometry.OutputSize(21, 4, 4));
        Assert.Equal(2, ConvGeometry.OutputSize(12, 5, 4));
        var y = Functional.Conv2d(Tensor.Ones(1, 1, 21, 12), Tensor.Ones(1, 1, 4, 5), stride: 4);
        Assert.Equal(new Shape(1, 1, 5, 2), y.Shape);
        // Every window sees 4·5 ones.
        Assert.All(y.ToArray(), v => Assert.Equal(20f, v));
    }

    [Fact]
    public void PartC_OutputHasLength3AndMatchesClosedForm()
    {
        var f = Functional.Conv1d(X(), W(), stride: Stride);
        Assert.Equal(new Shape(1, 1, Outputs), f.Shape);
        for (var r = 0; r < Outputs; r++) Assert.Equal(ClosedForm(r), f[0, 0, r]);
    }

    [Fact]
    public void PartC_JacobiansFromBackwardWithUnitVectorsMatchClosedForm()
    {
        // Row r of each Jacobian is the gradient of f[r]: backward with the unit vector e_r as ∂ℓ/∂f.
        var jw = new double[Outputs, Channels * Kernel];
        var jx = new double[Outputs, Channels * Length];
        for (var r = 0; r < Outputs; r++)
        {
            var x = X().RequiresGrad_();
            var w = W().RequiresGrad_();
            var unit = new double[Outputs];
            unit[r] = 1;
            Functional.Conv1d(x, w, stride: Stride).Backward(Tensor.FromArray(unit, 1, 1, Outputs));
            var gw = w.Grad!.ToDoubleArray();
            var gx = x.Grad!.ToDoubleArray();
            for (var i = 0; i < gw.Length; i++) jw[r, i] = gw[i];
            for (var i = 0; i < gx.Length; i++) jx[r, i] = gx[i];
        }

        for (var r = 0; r < Outputs; r++)
        {
            // ∂f[r]/∂W[c,k] = x[c, 2r+k]   (3 × 15)
            for (var c = 0; c < Channels; c++)
                for (var k = 0; k < Kernel; k++) Assert.Equal(XValue(c, Stride * r + k), jw[r, c * Kernel + k]);
            // ∂f[r]/∂x[c,j] = W[c, j − 2r] when 0 ≤ j − 2r < 3, else 0   (3 × 35)
            for (var c = 0; c < Channels; c++)
            {
                for (var j = 0; j < Length; j++)
                {
                    var k = j - Stride * r;
                    var expected = k is >= 0 and < Kernel ? WValue(c, k) : 0.0;
                    Assert.Equal(expected, jx[r, c * Length + j]);
                }
            }
        }
    }

    [Fact]
    public void PartC_WeightAndInputGradientsForAGivenUpstreamGradient()
    {
        double[] upstream = [0.5, -2, 3];   // ∂ℓ/∂f
        var x = X().RequiresGrad_();
        var w = W().RequiresGrad_();
        Functional.Conv1d(x, w, stride: Stride).Backward(Tensor.FromArray(upstream, 1, 1, Outputs));
        for (var c = 0; c < Channels; c++)
        {
            for (var k = 0; k < Kernel; k++)
            {
                // ∂ℓ/∂W[c,k] = Σ_r ∂ℓ/∂f[r] · x[c, 2r+k]: the correlation of x with ∂ℓ/∂f at stride 2.
                var expected = 0.0;
                for (var r = 0; r < Outputs; r++) expected += upstream[r] * XValue(c, Stride * r + k);
                Assert.Equal(expected, w.Grad![0, c, k]);
            }
            for (var j = 0; j < Length; j++)
            {
                // ∂ℓ/∂x[c,j] = Σ_r ∂ℓ/∂f[r] · W[c, j − 2r]: ∂ℓ/∂f dilated by the stride, fully convolved with flipped W.
                var expected = 0.0;
                for (var r = 0; r < Outputs; r++)
                {
                    var k = j - Stride * r;
                    if (k is >= 0 and < Kernel) expected += upstream[r] * WValue(c, k);
                }
                Assert.Equal(expected, x.Grad![0, c, j]);
            }
        }
    }
}
