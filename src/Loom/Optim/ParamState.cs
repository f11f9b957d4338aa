namespace Loom.Optim;

/// <summary>One parameter's optimiser state: its step count and its buffers (momentum, moments), allocated on the
/// first step that needs them and reused from then on.</summary>
internal sealed class ParamState(int bufferCount)
{
    /// <summary>Steps taken with a gradient (PyTorch's <c>state['step']</c>).</summary>
    public long Step;

    /// <summary>The optimiser's buffers in the order of its buffer names; null until first used.</summary>
    public readonly Tensor?[] Buffers = new Tensor?[bufferCount];

    /// <summary>True before the first step (PyTorch's empty <c>state[p]</c>).</summary>
    public bool IsEmpty
    {
        get
        {
            if (Step != 0) return false;
            foreach (var b in Buffers)
                if (b is not null) return false;
            return true;
        }
    }

    /// <summary>The buffer at <paramref name="index"/>, allocated as zeros like <paramref name="param"/> if absent.</summary>
    public Tensor Zeros(int index, Tensor param) => Buffers[index] ??= Tensor.Zeros(param.Shape, param.DType);
}
