namespace Loom;

public sealed partial class Tensor
{
    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad, adding it to their
    /// <see cref="Grad"/>. A scalar needs no <paramref name="gradient"/>; otherwise pass ∂ℓ/∂this.
    /// The graph is freed afterwards, as in PyTorch.
    /// </summary>
    public void Backward(Tensor? gradient = null) => Autograd.RunBackward(this, gradient);
}
