using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>Changes the process-wide <see cref="Threads.Count"/>, so it runs alone (after the parallel tests).</summary>
[CollectionDefinition("Recurrent: process-wide thread count", DisableParallelization = true)]
public sealed class RecurrentThreadCountCollection;

/// <summary>
/// Blocks large enough (batch · gates · H ≥ 8192) that the fused path splits each step's gate math and its backward rows
/// over two threads: the bits are the same as on one thread, and the values agree with the composed reference path.
/// Odd batches split unevenly; variable lengths put padded rows on both sides of the split.
/// </summary>
[Collection("Recurrent: process-wide thread count")]
public class RecurrentThreadsTests
{
    private static float[][] Run(RecurrentCase c, RecurrentImplementation impl)
    {
        var layer = c.Build(7, DType.Float32);
        layer.Implementation = impl;
        var (x, h0, c0, lengths) = c.Inputs(new Generator(8), DType.Float32);
        x.RequiresGrad_();
        var result = layer.Forward(x, h0 is null ? null : new RecurrentState(h0, c0), lengths);
        RecurrentAssert.Project(result, new Generator(9)).Backward();
        var arrays = new List<float[]> { result.Output.ToArray(), result.H.ToArray(), x.Grad!.ToArray() };
        if (result.C is { } cn) arrays.Add(cn.ToArray());
        arrays.AddRange(layer.Parameters().Select(p => p.Grad!.ToArray()));
        return [.. arrays];
    }

    // H = 128 and 256 split the batch rows of the walks through time (per step: product + gates, backward rows + ∂h
    // product; one join per walk) over the threads; 16 steps (528 rows · 512 gate columns) also split the once-per-call
    // passes (layer 0's projection with its bias, layer 1's bias fill, the bias-gradient column sums).
    [Theory]
    [InlineData("lstm", 128, 4)]
    [InlineData("lstm", 128, 16)]
    [InlineData("gru", 128, 4)]
    [InlineData("gru", 128, 16)]
    [InlineData("rnn_tanh", 256, 4)]
    [InlineData("rnn_relu", 256, 4)]
    // H = 16 and 32: the step-kernel paths (RecurrentStepProduct, RecurrentLstmStep) — the per-step products, the gate
    // math, the input projections (layer 1 of 2 bidirectional: 32 or 64 inputs) and the weight gradients on one thread
    // (the LSTM with H = 32, 33·128·32 multiply-adds per step, splits its walks over the threads).
    [InlineData("lstm", 16, 5)]
    [InlineData("lstm", 32, 5)]
    [InlineData("gru", 16, 5)]
    [InlineData("rnn_tanh", 16, 5)]
    // 37 steps · 33 rows = 1221 rows: the small layers' weight gradients in four k-slices (boundaries inside steps).
    [InlineData("lstm", 16, 37)]
    [InlineData("gru", 16, 37)]
    public void TwoThreadsGiveTheBitsOfOne(string mode, int hidden, int steps)
    {
        var c = new RecurrentCase(mode, 3, hidden, 2, true, false, true, steps, 33, true, true, 0);
        var saved = Threads.Count;
        try
        {
            Threads.Count = 2;
            var two = Run(c, RecurrentImplementation.Fused);
            Threads.Count = 1;
            var one = Run(c, RecurrentImplementation.Fused);
            var composed = Run(c, RecurrentImplementation.Composed);
            Assert.Equal(one.Length, two.Length);
            for (var i = 0; i < one.Length; i++)
            {
                Assert.Equal(one[i], two[i]);
                RecurrentAssert.Close(Tensor.FromArray(two[i]), Tensor.FromArray(composed[i]), 1e-4, $"{c}: array {i}");
            }
        }
        finally
        {
            Threads.Count = saved;
        }
    }

    // Without h0 the fused forward skips the first step's recurrent product (h_prev = 0, so it would add +0): the results
    // must be the bits of an explicit zero h0 (and c0), whose product runs. 8 inputs: the step-product input projection.
    [Theory]
    [InlineData("lstm", 128, 1)]
    [InlineData("lstm", 128, 2)]
    [InlineData("gru", 128, 2)]
    [InlineData("rnn_tanh", 128, 2)]
    [InlineData("lstm", 16, 1)]
    [InlineData("gru", 16, 1)]
    public void NoInitialStateGivesTheBitsOfZeros(string mode, int hidden, int threads)
    {
        var c = new RecurrentCase(mode, 8, hidden, 2, true, false, true, 6, 33, false, false, 0);
        var saved = Threads.Count;
        try
        {
            Threads.Count = threads;
            float[][] Run(bool zeros)
            {
                var layer = c.Build(7, DType.Float32);
                var (x, _, _, _) = c.Inputs(new Generator(8), DType.Float32);
                x.RequiresGrad_();
                var shape = new Shape(c.Layers * c.Directions, c.Batch, hidden);
                var state = zeros ? new RecurrentState(Tensor.Zeros(shape), mode == "lstm" ? Tensor.Zeros(shape) : null) : null;
                var result = layer.Forward(x, state, null);
                RecurrentAssert.Project(result, new Generator(9)).Backward();
                var arrays = new List<float[]> { result.Output.ToArray(), result.H.ToArray(), x.Grad!.ToArray() };
                if (result.C is { } cn) arrays.Add(cn.ToArray());
                arrays.AddRange(layer.Parameters().Select(p => p.Grad!.ToArray()));
                return [.. arrays];
            }
            var skipped = Run(false);
            var computed = Run(true);
            Assert.Equal(computed.Length, skipped.Length);
            for (var i = 0; i < computed.Length; i++) Assert.Equal(computed[i], skipped[i]);
        }
        finally
        {
            Threads.Count = saved;
        }
    }
}
