using Loom.Kernels;

namespace Loom.Tests.Ops;

/// <summary>The bias gradient's channel sums, split over threads by channel: the same bits for every thread count.</summary>
[Collection("Conv: process-wide thread count")]
public class ConvChannelSumsTests
{
    [Theory]
    [InlineData(3, 5, 7)]          // too small to split: one thread
    [InlineData(4, 13, 1571)]      // split over two threads, an odd number of channels
    [InlineData(2, 1, 70000)]      // one channel: never more parts than channels
    public void ChannelSumsAreTheSameForEveryThreadCount(int batch, int channels, int positions)
    {
        var values = Tensor.Randn(new Shape(batch * channels * positions), new Generator(17)).ToArray();
        var expected = new double[channels];
        for (var n = 0; n < batch; n++)
            for (var c = 0; c < channels; c++)
                for (var p = 0; p < positions; p++) expected[c] += values[((n * channels) + c) * positions + p];
        var saved = Threads.Count;
        try
        {
            float[] Sums(int threads)
            {
                Threads.Count = threads;
                var sums = new float[channels + 1];
                sums[channels] = 42f; // past the channels: untouched
                ConvKernels.ChannelSums<float>(values, batch, channels, positions, sums);
                Assert.Equal(42f, sums[channels]);
                return sums[..channels];
            }
            var one = Sums(1);
            Assert.Equal(one, Sums(2));
            ConvAssert.Close(expected, Array.ConvertAll(one, v => (double)v), 1e-4);
        }
        finally
        {
            Threads.Count = saved;
        }
    }
}
