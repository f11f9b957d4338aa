namespace Loom;

/// <summary>
/// Computes the gradients of an operation's inputs from the gradient of its output.
/// Returns one entry per input, null where the input needs no gradient.
/// </summary>
internal delegate Tensor?[] BackwardFunction(Tensor gradOutput);

/// <summary>
/// One recorded operation on the tape: its inputs and the closure that applies the chain rule.
/// The gradient flowing into the node's output is accumulated here during <see cref="Tensor.Backward"/>.
/// </summary>
internal sealed class Node(string name, Tensor[] inputs, BackwardFunction backward)
{
    public string Name { get; } = name;

    public Tensor[] Inputs { get; private set; } = inputs;

    public BackwardFunction? Backward { get; private set; } = backward;

    /// <summary>Sum of gradients reaching the output so far in the current backward pass.</summary>
    public Tensor? PendingGrad { get; set; }

    /// <summary>Drops the closure and inputs once used, as PyTorch frees a graph after backward.</summary>
    public void Release()
    {
        Backward = null;
        Inputs = [];
    }
}
