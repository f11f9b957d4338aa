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

    /// <summary>Scratch only this node's backward reads (max-pool's argmax, a dropout mask): pooled after it runs.</summary>
    private List<Tensor>? _owned;

    /// <summary>Hands <paramref name="scratch"/> to this node: no one else may hold it, its array is recycled once
    /// the backward has run (or the node was skipped).</summary>
    public void Own(Tensor scratch) => (_owned ??= []).Add(scratch);

    /// <summary>Drops the closure and inputs once used, as PyTorch frees a graph after backward.</summary>
    public void Release()
    {
        Backward = null;
        Inputs = [];
    }

    /// <summary>Gives the owned scratch back to the pool (after the backward that read it).</summary>
    public void RecycleOwned()
    {
        if (_owned is null) return;
        foreach (var t in _owned)
        {
            // Already recycled when the MemoryScope that made it ended (a backward after the scope): nothing to give.
            if (t.IsReleased) continue;
            var storage = t.Storage;
            t.Release();
            StoragePool.Return(storage);
        }
        _owned = null;
    }
}
