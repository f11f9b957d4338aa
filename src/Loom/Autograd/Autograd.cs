namespace Loom;

/// <summary>
/// The dynamic tape: ops call <c>Record</c> after computing their output; <see cref="Tensor.Backward"/>
/// walks the recorded nodes in reverse topological order. <see cref="NoGrad"/> turns recording off.
/// </summary>
public static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>Turns gradient recording off until the returned scope is disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>Restores recording when disposed.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => _noGradDepth--;
    }

    /// <summary>Whether an op over these inputs must be recorded.</summary>
    internal static bool Needs(Tensor a) => a.RequiresGrad && _noGradDepth == 0;

    internal static bool Needs(Tensor a, Tensor b) => (a.RequiresGrad || b.RequiresGrad) && _noGradDepth == 0;

    internal static bool Needs(ReadOnlySpan<Tensor> inputs)
    {
        if (_noGradDepth != 0) return false;
        foreach (var t in inputs)
            if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Attaches a node to <paramref name="output"/> when any input requires grad; returns the output.</summary>
    internal static Tensor Record(Tensor output, string name, Tensor[] inputs, BackwardFunction backward)
    {
        if (!Needs(inputs)) return output;
        output.RequiresGrad = true;
        output.GradFn = new Node(name, inputs, backward);
        return output;
    }

    internal static Tensor Record(Tensor output, string name, Tensor input, Func<Tensor, Tensor> backward)
    {
        if (!Needs(input)) return output;
        output.RequiresGrad = true;
        output.GradFn = new Node(name, [input], g => [backward(g)]);
        return output;
    }

    /// <summary>Reverse-mode differentiation from <paramref name="root"/>, seeded with <paramref name="gradient"/>.</summary>
    internal static void RunBackward(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad)
            throw new LoomException("backward: the tensor does not require grad (no input had RequiresGrad set, or it was computed under NoGrad)");
        if (gradient is null)
        {
            if (root.Numel != 1)
                throw new LoomException($"backward: a gradient must be given for a non-scalar output of shape {root.Shape}");
            gradient = Tensor.OnesLike(root);
        }
        else if (gradient.Shape != root.Shape)
        {
            throw new LoomException($"backward: gradient shape {gradient.Shape} differs from output shape {root.Shape}");
        }

        if (root.GradFn is null)
        {
            AccumulateLeaf(root, gradient);
            return;
        }

        var order = TopologicalOrder(root.GradFn);
        root.GradFn.PendingGrad = gradient;
        using var _ = NoGrad();
        for (var i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            var grad = node.PendingGrad;
            node.PendingGrad = null;
            var backward = node.Backward ?? throw new LoomException(
                $"backward: the graph through '{node.Name}' was already used by an earlier Backward(); recompute the forward pass");
            var inputs = node.Inputs;
            node.Release();
            if (grad is null) continue;
            var inputGrads = backward(grad);
            for (var k = 0; k < inputs.Length; k++)
            {
                var input = inputs[k];
                var g = inputGrads[k];
                if (g is null || !input.RequiresGrad) continue;
                if (g.Shape != input.Shape)
                    throw new InvalidOperationException($"internal: backward of '{node.Name}' gave gradient {g.Shape} for input {input.Shape}");
                if (input.GradFn is { } fn)
                    fn.PendingGrad = fn.PendingGrad is null ? g : Functional.Add(fn.PendingGrad, g);
                else
                    AccumulateLeaf(input, g);
            }
        }
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null) leaf.Grad = g.DType == leaf.DType ? g.Clone() : g.To(leaf.DType);
        else Functional.AddInPlace(leaf.Grad, g);
    }

    /// <summary>Nodes reachable from <paramref name="root"/>, each after all nodes it feeds (iterative DFS: long RNN graphs are deep).</summary>
    private static List<Node> TopologicalOrder(Node root)
    {
        var order = new List<Node>();
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Node Node, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var inputs = node.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((node, next + 1));
                var child = inputs[next].GradFn;
                if (child is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else
            {
                order.Add(node);
            }
        }
        // order is post-order (inputs before consumers); walking it backwards visits consumers first.
        return order;
    }
}
