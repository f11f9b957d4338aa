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

    [Theory]
    [InlineData("lstm", 128)]
    [InlineData("gru", 128)]
    [InlineData("rnn_tanh", 256)]
    [InlineData("rnn_relu", 256)]
    public void TwoThreadsGiveTheBitsOfOne(string mode, int hidden)
    {
        var c = new RecurrentCase(mode, 3, hidden, 2, true, false, true, 4, 33, true, true, 0);
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
}
