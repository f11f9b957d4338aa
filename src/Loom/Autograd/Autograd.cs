using System.Runtime.CompilerServices;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
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
            AccumulateLeaf(root, gradient, null, shared: true);
            return;
        }

        var order = TopologicalOrder(root.GradFn);
        root.GradFn.PendingGrad = gradient;
        using var _ = NoGrad();
        var previousLedger = StoragePool.CurrentLedger;
        var grads = new GradientLedger(StoragePool.BeginLedger());
        try
        {
            // The seed is the caller's (or our ones): held, but never rented in this pass, so never recycled.
            grads.Hold(gradient);
            for (var i = order.Count - 1; i >= 0; i--)
            {
                var node = order[i];
                var grad = node.PendingGrad;
                node.PendingGrad = null;
                var backward = node.Backward ?? throw new LoomException(
                    $"backward: the graph through '{node.Name}' was already used by an earlier Backward(); recompute the forward pass");
                var inputs = node.Inputs;
                node.Release();
                if (grad is null)
                {
                    node.RecycleOwned();
                    continue;
                }
                var inputGrads = backward(grad);
                node.RecycleOwned();
                for (var k = 0; k < inputs.Length; k++)
                {
                    var input = inputs[k];
                    var g = inputGrads[k];
                    if (g is null || !input.RequiresGrad) continue;
                    if (g.Shape != input.Shape)
                        throw new InvalidOperationException($"internal: backward of '{node.Name}' gave gradient {g.Shape} for input {input.Shape}");
                    if (input.GradFn is { } fn) fn.PendingGrad = grads.Accumulate(fn.PendingGrad, g);
                    else AccumulateLeaf(input, g, grads, SharesStorage(inputGrads, k));
                }
                // This node's incoming gradient is consumed: recycle it unless a pending sum still refers to it
                // (a pass-through such as reshape's view) — and the same for outputs that went nowhere.
                grads.Drop(grad);
                foreach (var g in inputGrads)
                    if (g is not null) grads.RecycleIfUnheld(g);
            }
        }
        finally
        {
            StoragePool.EndLedger(previousLedger);
            if (MemoryScope.Current is null) StoragePool.Tick(); // inside a scope, its end ticks
        }
    }

    /// <summary>Whether another entry of <paramref name="grads"/> shares entry <paramref name="k"/>'s array.</summary>
    private static bool SharesStorage(Tensor?[] grads, int k)
    {
        for (var j = 0; j < grads.Length; j++)
            if (j != k && grads[j] is { } other && ReferenceEquals(other.Storage, grads[k]!.Storage)) return true;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    private static void AccumulateLeaf(Tensor leaf, Tensor g, GradientLedger? grads, bool shared)
    {
        if (leaf.GradInternal is { } existing)
        {
            Functional.AddInPlace(existing, g);
            return;
        }
        // A gradient this pass made and nothing else holds becomes the leaf's .Grad as it is (it leaves the pool's
        // reach for good); anything else is copied, so .Grad never aliases a gradient someone else can see.
        var own = g.DType != leaf.DType ? g.To(leaf.DType)
            : !shared && grads is not null && grads.TryAdopt(g) ? g
            : g.Clone();
        if (!ReferenceEquals(own, g)) MemoryScope.ForgetEverywhere(own.Storage);
        leaf.SetEngineGrad(own);
    }

    /// <summary>
    /// The gradients of one backward pass and who holds them: an array rented during the pass (so made by a backward
    /// closure or a sum here, never seen by the user) is recycled as soon as no pending gradient refers to it.
    /// Counts are per array, not per tensor, because a reshape's gradient is a view sharing its input gradient's array.
    /// </summary>
    private sealed class GradientLedger(HashSet<Array> rented)
    {
        private readonly Dictionary<Array, int> _holds = new(ReferenceEqualityComparer.Instance);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Hold(Tensor g) => _holds[g.Storage] = _holds.GetValueOrDefault(g.Storage) + 1;

        /// <summary>Adds <paramref name="g"/> to a node's pending gradient, in place when that sum is ours alone.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Tensor Accumulate(Tensor? pending, Tensor g)
        {
            if (pending is null)
            {
                Hold(g);
                return g;
            }
            if (rented.Contains(pending.Storage) && _holds[pending.Storage] == 1 && !ReferenceEquals(pending.Storage, g.Storage))
            {
                Functional.AddInPlace(pending, g);
                return pending;
            }
            var sum = Functional.Add(pending, g);
            Hold(sum);
            Drop(pending);
            return sum;
        }

        /// <summary>One holder fewer; at zero, an array rented in this pass goes back to the pool.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Drop(Tensor g)
        {
            var storage = g.Storage;
            if (!_holds.TryGetValue(storage, out var n)) return;
            if (n > 1)
            {
                _holds[storage] = n - 1;
                return;
            }
            _holds.Remove(storage);
            RecycleIfUnheld(g);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RecycleIfUnheld(Tensor g)
        {
            var storage = g.Storage;
            if (_holds.ContainsKey(storage) || !rented.Contains(storage)) return;
            g.Release();
            StoragePool.Return(storage);
        }

        /// <summary>Takes <paramref name="g"/> out of the pass for good if only this call refers to it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool TryAdopt(Tensor g)
        {
            var storage = g.Storage;
            if (_holds.ContainsKey(storage) || !rented.Contains(storage)) return false;
            rented.Remove(storage);
            MemoryScope.ForgetEverywhere(storage);
            return true;
        }
    }

    /// <summary>Nodes reachable from <paramref name="root"/>, each after all nodes it feeds (iterative DFS: long RNN graphs are deep).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
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
