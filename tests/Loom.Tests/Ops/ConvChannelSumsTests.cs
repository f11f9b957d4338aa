using Loom.Kernels;

namespace Loom.Tests.Ops;

/// <summary>The bias gradient's channel sums, split over threads by channel, or taken along the weight gradient: the same bits for every thread count and path.</summary>
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

    [Theory]
    [InlineData(1, false, false)]
    [InlineData(2, false, false)]
    [InlineData(2, true, false)]
    [InlineData(1, true, true)]
    [InlineData(2, true, true)]
    [InlineData(2, false, true)]
    public void BiasGradientAlongTheWeightGradientIsTheChannelSums(int threads, bool implicitGemm, bool large)
    {
        // ∂b taken image by image inside the weight gradient's parts: the bits of ChannelSums, whatever the path
        // (implicit or explicit GEMM, image chunks or one large image) and the thread count; ∂W itself unchanged.
        var g = new Generator(23);
        var patch = new PatchGeometry(3, 9, 8, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1);
        var plan = new ConvPlan(5, 1, 16, patch);
        var x = Tensor.Randn(new Shape(5 * patch.ImageSize), g).ToArray();
        var dy = Tensor.Randn(new Shape(5 * plan.OutputSize), g).ToArray();
        var (savedThreads, savedChunk, savedBand, savedImplicit) = (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget, ConvKernels.ImplicitGemm);
        try
        {
            Threads.Count = threads;
            ConvKernels.ImplicitGemm = implicitGemm;
            if (large) (ConvKernels.ChunkBudget, ConvKernels.BandBudget) = (1, 48);
            var expected = new float[16];
            ConvKernels.ChannelSums<float>(dy, 5, 16, patch.Columns, expected);
            var (dwAlone, dw, db) = (new float[16 * patch.Rows], new float[16 * patch.Rows], new float[17]);
            db[16] = 42f;
            ConvKernels.WeightGradient<float>(x, dy, plan, dwAlone);
            ConvKernels.WeightGradient<float>(x, dy, plan, dw, db);
            Assert.Equal(expected, db[..16]);
            Assert.Equal(42f, db[16]);
            Assert.Equal(dwAlone, dw);
        }
        finally
        {
            (Threads.Count, ConvKernels.ChunkBudget, ConvKernels.BandBudget, ConvKernels.ImplicitGemm) = (savedThreads, savedChunk, savedBand, savedImplicit);
        }
    }
}
