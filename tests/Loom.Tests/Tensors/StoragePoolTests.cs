using Loom.Nn.Spec;
using Loom.Optim;
using static Loom.Functional;

namespace Loom.Tests.Tensors;

/// <summary>
/// The storage pool must never hand out an array something can still read. Each aliasing test runs a backward pass,
/// then rents every pooled array of the gradients' length and scribbles NaN over it: a gradient wrongly recycled
/// would then show NaN instead of its value.
/// </summary>
public sealed class StoragePoolTests
{
    private const int Side = 9; // 81 elements: above StoragePool.MinLength, a length other tests rarely use

    private static Tensor Leaf(int seed) => Tensor.Randn(new Shape(Side, Side), new Generator((ulong)seed)).RequiresGrad_();

    /// <summary>Takes every pooled array of <paramref name="length"/> (and some fresh ones), fills them with NaN, gives them back.</summary>
    private static void Scribble(int length)
    {
        var taken = new List<float[]>();
        for (var i = 0; i < 64; i++)
        {
            var a = StoragePool.Rent<float>(length);
            Array.Fill(a, float.NaN);
            taken.Add(a);
        }
        foreach (var a in taken) StoragePool.Return(a);
    }

    private static void AssertClose(float[] expected, Tensor actual)
    {
        var got = actual.ToArray();
        Assert.Equal(expected.Length, got.Length);
        for (var i = 0; i < got.Length; i++) Assert.Equal(expected[i], got[i], 5);
    }

    private static float[] Times(Tensor t, float c) => [.. t.ToArray().Select(v => v * c)];

    [Fact]
    public void AGradientUsedTwiceIsNotRecycledUnderTheOtherUse()
    {
        var x = Leaf(1);
        var w = Tensor.Randn(x.Shape, new Generator(2));
        var a = x * 2f;
        (((a + a) * w).Sum()).Backward();   // ∂/∂x = 4w
        Scribble(x.Numel);
        AssertClose(Times(w, 4), x.Grad!);
    }

    [Fact]
    public void AddsPassThroughToALeafAndANodeDoNotShareTheLeafsGrad()
    {
        var x = Leaf(3);
        var w = Tensor.Randn(x.Shape, new Generator(4));
        var z = x * 3f;
        ((x + z) * w).Sum().Backward();       // add's backward gives the same g to x and to z: ∂/∂x = w + 3w
        Scribble(x.Numel);
        AssertClose(Times(w, 4), x.Grad!);
        // A second pass accumulates in place into .Grad: if .Grad aliased a pooled or shared gradient this would drift.
        ((x + z.Detach()) * w).Sum().Backward();
        Scribble(x.Numel);
        AssertClose(Times(w, 5), x.Grad!);
    }

    [Fact]
    public void AReshapeViewOfAGradientStaysValidWhileItsArrayIsPending()
    {
        var x = Leaf(5);
        var w = Tensor.Randn(new Shape(Side * Side), new Generator(6));
        var h = x * 1.5f;
        var flat = Reshape(h, Side * Side);                    // a view of h: its gradient is a view of flat's
        var loss = (flat * w).Sum() + (Reshape(h, Side * Side) * w).Sum() + (h * h).Sum();
        loss.Backward();
        Scribble(x.Numel);
        // ∂/∂x = 1.5·(2w + 2h)
        var expected = w.ToArray().Zip(h.ToArray(), (wi, hi) => 1.5f * (2 * wi + 2 * hi)).ToArray();
        AssertClose(expected, x.Grad!);
    }

    [Fact]
    public void ALeafReshapedGetsACopyNotTheCallersGradient()
    {
        var x = Leaf(7);
        var y = Reshape(x, Side * Side);
        var seed = Tensor.Randn(y.Shape, new Generator(8));
        var before = seed.ToArray();
        y.Backward(seed);
        seed.Fill_(123);                 // the caller's tensor changes afterwards…
        Scribble(x.Numel);
        AssertClose(before, x.Grad!);    // …x.Grad does not (it is a copy), and the pool never took the caller's array
    }

    [Fact]
    public void AGradientFlowingIntoTwoLeavesGivesEachItsOwnArray()
    {
        var a = Leaf(9);
        var b = Leaf(10);
        var w = Tensor.Randn(a.Shape, new Generator(11));
        ((a + b) * w).Sum().Backward();
        Assert.False(ReferenceEquals(a.Grad!.Storage, b.Grad!.Storage));
        a.Grad!.Fill_(0);
        AssertClose(w.ToArray(), b.Grad!);
    }

    [Fact]
    public void ZeroGradNeverRecyclesAGradientTheCallerHasSeen()
    {
        var p = Leaf(14);
        var opt = new Sgd([p], new SgdOptions { Lr = 0.1 });
        var w = Tensor.Randn(p.Shape, new Generator(15));
        (p * w).Sum().Backward();
        var seen = p.Grad!;                       // the caller now holds the gradient…
        opt.ZeroGrad();                           // …so clearing it must leave its array alone
        Assert.Null(p.Grad);
        (p * 2f).Sum().Backward();
        Scribble(p.Numel);
        AssertClose(w.ToArray(), seen);
        AssertClose(Times(Tensor.OnesLike(p), 2), p.Grad!);
    }

    [Fact]
    public void AnUnseenGradientIsRecycledByZeroGradAndRefilledCorrectly()
    {
        var p = Leaf(16);
        var opt = new Sgd([p], new SgdOptions { Lr = 0.1 });
        for (var step = 1; step <= 3; step++)
        {
            opt.ZeroGrad();                       // nobody read .Grad since the last backward: its array is recycled
            Scribble(p.Numel);                    // the recycled array is dirty…
            (p * (float)step).Sum().Backward();   // …and the new gradient overwrites it completely
            Scribble(p.Numel);
            Assert.All(p.GradInternal!.ToArray(), v => Assert.Equal(step, v)); // read without exposing it
            opt.ZeroGrad();
        }
    }

    [Fact]
    public void SettingGradToNoneNeverRecyclesAGradientTheCallerHasSeen()
    {
        var p = Leaf(17);
        var w = Tensor.Randn(p.Shape, new Generator(18));
        (p * w).Sum().Backward();
        var seen = p.Grad!;                       // the caller holds the gradient…
        p.Grad = null;                            // …so dropping it must leave its array alone
        (p * 3f).Sum().Backward();
        Scribble(p.Numel);
        AssertClose(w.ToArray(), seen);
        AssertClose(Times(Tensor.OnesLike(p), 3), p.Grad!);
    }

    [Fact]
    public void AnUnseenGradientIsRecycledWhenGradIsSetToNone()
    {
        var p = Leaf(19);
        (p * 1f).Sum().Backward();
        for (var step = 2; step <= 4; step++)
        {
            var before = p.GradInternal!.Storage;  // read without exposing it
            p.Grad = null;                         // PyTorch's x.grad = None: nobody saw it, so its array is pooled…
            var pooled = StoragePool.Rent<float>(p.Numel);
            Assert.Same(before, pooled);
            StoragePool.Return(pooled);
            Scribble(p.Numel);                     // …dirty, and the next backward overwrites what it takes completely
            (p * (float)step).Sum().Backward();
            Assert.All(p.GradInternal!.ToArray(), v => Assert.Equal(step, v));
        }
    }

    [Fact]
    public void ALengthNobodyAsksForAnyMoreIsDropped()
    {
        const int length = 12_347; // no other test uses it
        var first = StoragePool.Rent<float>(length);
        StoragePool.Return(first);
        var again = StoragePool.Rent<float>(length);
        Assert.Same(first, again);                 // a fresh return is reused…
        StoragePool.Return(again);
        for (var i = 0; i < 2 * StoragePool.StaleTicks; i++) StoragePool.Tick();
        Assert.NotSame(first, StoragePool.Rent<float>(length)); // …a stale one was left to the GC
    }

    [Fact]
    public void ReadingATensorAfterItsScopeEndedThrowsAndKeptOnesSurvive()
    {
        var x = Tensor.Randn(new Shape(4, Side), new Generator(12));
        Tensor inside, view, kept;
        float[] keptValues;
        using (var scope = MemoryScope.Begin())
        {
            inside = Exp(x);
            view = Reshape(inside, 4 * Side);
            kept = scope.Keep(Tanh(x));
            keptValues = kept.ToArray();
        }
        var e = Assert.Throws<LoomException>(() => inside.ToArray());
        Assert.Contains("MemoryScope", e.Message);
        Assert.Throws<LoomException>(() => view.Sum());
        Scribble(x.Numel);
        Assert.Equal(keptValues, kept.ToArray());
    }

    [Fact]
    public void KeepMovesATensorToTheEnclosingScope()
    {
        var x = Tensor.Randn(new Shape(4, Side), new Generator(13));
        Tensor kept;
        using (MemoryScope.Begin())
        {
            using (var inner = MemoryScope.Begin())
            {
                kept = inner.Keep(Exp(x));
            }
            Assert.Equal(MathF.Exp((float)x[0, 0]), (float)kept[0, 0], 5);
        }
        Assert.Throws<LoomException>(() => kept.ToArray());
    }

    [Fact]
    public void ScopesMustEndInReverseOrder()
    {
        var outer = MemoryScope.Begin();
        var inner = MemoryScope.Begin();
        Assert.Throws<LoomException>(outer.Dispose);
        inner.Dispose();
        outer.Dispose();
    }

    /// <summary>A small CNN step (the W3 recipe at toy size): conv, relu, max-pool, linear, SGD with momentum.</summary>
    private static (Func<double> Step, Loom.Nn.Module Model) CnnStep(bool scoped)
    {
        var gen = new Generator(21);
        var model = ModelBuilder.Build("conv(6,3,p=1) relu maxpool(2) flatten linear(10)", new Shape(1, 10, 10), gen).Model;
        model.Train();
        var opt = new Sgd(model.Parameters(), new SgdOptions { Lr = 0.05, Momentum = 0.9 });
        var x = Tensor.Randn(new Shape(12, 1, 10, 10), gen);
        var y = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => i % 10).ToArray(), 12);
        double Step()
        {
            using var scope = scoped ? MemoryScope.Begin() : null;
            opt.ZeroGrad();
            var loss = CrossEntropy(model.Call(x), y);
            loss.Backward();
            opt.Step();
            return loss.Item();
        }
        return (Step, model);
    }

    [Fact]
    public void ScopedTrainingGivesTheSameBitsAsUnscoped()
    {
        var (plain, plainModel) = CnnStep(scoped: false);
        var (scoped, scopedModel) = CnnStep(scoped: true);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(plain(), scoped());
            Scribble(12 * 6 * 10 * 10);   // recycled activations are dirty: results must not depend on it
        }
        var a = plainModel.StateDict();
        var b = scopedModel.StateDict();
        foreach (var (name, t) in a)
        {
            Assert.Equal(t.ToArray(), b[name].ToArray());
            Assert.Equal(((Loom.Nn.Module)plainModel).Parameters().Count(), scopedModel.Parameters().Count());
        }
        foreach (var p in scopedModel.Parameters()) Assert.NotNull(p.Grad!.ToArray()); // grads outlive the scope
    }

    [Fact]
    public void AScopedStepAllocatesOnlySmallObjects()
    {
        static double PerStep(Func<double> step)
        {
            for (var i = 0; i < 3; i++) step();   // warm-up: the pool fills, optimizer state is created
            var before = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 5;
            for (var i = 0; i < steps; i++) step();
            return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)steps;
        }
        var scoped = PerStep(CnnStep(scoped: true).Step);
        // Without the pool a step allocated its activations and gradients afresh: conv output and ReLU output
        // 12·6·10·10 floats each (28.8 KB), pooled values and argmax 7.2 KB each, their gradients as much again:
        // ≥ 140 KB (82 KB measured for an unscoped step run alone, which already recycles its gradients). Scoped, with
        // ZeroGrad recycling the unseen parameter gradients, what is left is tensor and node objects, closures, the
        // backward pass's bookkeeping and arrays below StoragePool.MinLength (10.7 KB measured).
        Assert.True(scoped < 16_000, $"a scoped step allocated {scoped:F0} bytes");
    }
}
