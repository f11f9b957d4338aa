using Loom.Optim;

namespace Loom.Tests.Optim;

public class GradClipTests
{
    private static Tensor WithGrad(double[] grad, DType dtype = DType.Float64)
    {
        var p = Tensor.Zeros(new Shape(grad.Length), dtype).RequiresGrad_();
        p.Grad = Tensor.FromArray(grad, grad.Length).To(dtype);
        return p;
    }

    [Fact]
    public void NormClippingScalesAllGradientsTogether()
    {
        // ‖[3, 4, 12]‖₂ = 13; max 6.5 → every gradient × 6.5 / (13 + 1e-6).
        Tensor[] ps = [WithGrad([3, 4]), WithGrad([12])];
        var total = GradClip.ClipGradNorm(ps, 6.5);
        Assert.Equal(13, total, 12);
        var coef = 6.5 / (13 + 1e-6);
        Assert.Equal([3 * coef, 4 * coef], ps[0].Grad!.ToDoubleArray());
        Assert.Equal([12 * coef], ps[1].Grad!.ToDoubleArray());
    }

    [Fact]
    public void OtherNorms()
    {
        Tensor[] ps = [WithGrad([3, -4]), WithGrad([-12])];
        Assert.Equal(12, GradClip.ClipGradNorm(ps, 100, double.PositiveInfinity));
        Assert.Equal(19, GradClip.ClipGradNorm(ps, 100, 1), 12);
        Assert.Equal(Math.Pow(27 + 64 + 1728, 1.0 / 3), GradClip.ClipGradNorm(ps, 100, 3), 12);
        // Below the limit nothing changes.
        Assert.Equal([3, -4], ps[0].Grad!.ToDoubleArray());
        // Infinity norm clipping: max |g| = 12 → × 6 / (12 + 1e-6).
        GradClip.ClipGradNorm(ps, 6, double.PositiveInfinity);
        Assert.Equal([-12 * 6 / (12 + 1e-6)], ps[1].Grad!.ToDoubleArray());
    }

    [Fact]
    public void Float32GradientsAndMissingGradients()
    {
        var none = Tensor.Zeros(new Shape(3)).RequiresGrad_();
        Tensor[] ps = [WithGrad([0.6, 0.8], DType.Float32), none];
        Assert.Equal(1.0, GradClip.ClipGradNorm(ps, 0.5), 6);
        Assert.Null(none.Grad);
        Assert.Equal([0.3f, 0.4f], ps[0].Grad!.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(0, GradClip.ClipGradNorm([none], 1));
    }

    [Fact]
    public void NonFiniteNorms()
    {
        Tensor[] ps = [WithGrad([1, double.NaN]), WithGrad([2])];
        var e = Assert.Throws<LoomException>(() => GradClip.ClipGradNorm(ps, 1, errorIfNonfinite: true));
        Assert.Contains("clip_grad_norm: the total norm of order 2 of the gradients is NaN", e.Message);
        Assert.Equal([2], ps[1].Grad!.ToDoubleArray());   // untouched when it throws
        // Without the check PyTorch scales by the NaN coefficient: every gradient becomes NaN.
        Assert.True(double.IsNaN(GradClip.ClipGradNorm(ps, 1)));
        Assert.True(double.IsNaN(ps[1].Grad!.ToDoubleArray()[0]));

        Tensor[] inf = [WithGrad([double.PositiveInfinity, 1])];
        Assert.Contains("the total norm of order inf of the gradients is Infinity", Assert.Throws<LoomException>(() => GradClip.ClipGradNorm(inf, 1, double.PositiveInfinity, true)).Message);
    }

    [Fact]
    public void ValueClipping()
    {
        Tensor[] ps = [WithGrad([-3, 0.2, 5, double.NaN]), WithGrad([0.5], DType.Float32)];
        GradClip.ClipGradValue(ps, 0.4);
        var g = ps[0].Grad!.ToDoubleArray();
        Assert.Equal([-0.4, 0.2, 0.4], g[..3]);
        Assert.True(double.IsNaN(g[3]));
        Assert.Equal([0.4f], ps[1].Grad!.ToArray());
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Tensor[] ps = [WithGrad([1])];
        Assert.Equal("clip_grad_norm: max_norm must be ≥ 0, got -1", Assert.Throws<LoomException>(() => GradClip.ClipGradNorm(ps, -1)).Message);
        Assert.Equal("clip_grad_norm: norm_type must be > 0 or infinity, got 0", Assert.Throws<LoomException>(() => GradClip.ClipGradNorm(ps, 1, 0)).Message);
        Assert.Contains("norm_type", Assert.Throws<LoomException>(() => GradClip.ClipGradNorm(ps, 1, double.NaN)).Message);
        Assert.Equal("clip_grad_value: clip_value must be ≥ 0, got -0.5", Assert.Throws<LoomException>(() => GradClip.ClipGradValue(ps, -0.5)).Message);
    }
}
