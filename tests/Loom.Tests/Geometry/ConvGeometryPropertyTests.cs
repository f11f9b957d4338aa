using CsCheck;
using Loom.Geometry;

namespace Loom.Tests.Geometry;

/// <summary>
/// The formulas against brute force: counting window start positions for the output size, propagating an impulse
/// through index sets for the receptive field.
/// </summary>
public class ConvGeometryPropertyTests
{
    /// <summary>
    /// Windows start at 0, s, 2s, … in the padded input (length L + p_lo + p_hi) and span d·(k−1)+1 positions.
    /// Floor mode: every window lies inside the padded input. Ceil mode (PyTorch): windows go on until one reaches the
    /// end of the padded input (the last may overhang it), and each must start inside the input or the left padding.
    /// </summary>
    private static int CountWindows(int length, int kernel, int stride, int lo, int hi, int dilation, bool ceilMode)
    {
        var padded = length + lo + hi;
        var span = dilation * (kernel - 1) + 1;
        var count = 0;
        for (var start = 0; ; start += stride)
        {
            if (!ceilMode)
            {
                if (start + span > padded) break;
                count++;
            }
            else
            {
                if (start >= lo + length) break;
                count++;
                if (start + span >= padded) break;
            }
        }
        return count;
    }

    private static readonly Gen<(int L, int K, int S, int D, int Lo, int Hi)> WindowGen =
        from l in Gen.Int[1, 40]
        from k in Gen.Int[1, 7]
        from s in Gen.Int[1, 5]
        from d in Gen.Int[1, 4]
        from lo in Gen.Int[0, 6]
        from hi in Gen.Int[0, 6]
        select (l, k, s, d, lo, hi);

    [Fact]
    public void OutputSizeCountsTheWindowStarts()
    {
        WindowGen.Sample(c =>
        {
            var span = c.D * (c.K - 1) + 1;
            if (c.L + c.Lo + c.Hi < span)
            {
                Assert.Throws<LoomException>(() => ConvGeometry.OutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D));
                return;
            }
            var expected = CountWindows(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: false);
            Assert.Equal(expected, ConvGeometry.OutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D));
            Assert.Equal(expected, ConvGeometry.ExplainOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D).Output);
        }, iter: 5000);
    }

    [Fact]
    public void CeilModeCountsTheWindowStartsWithPyTorchsRule()
    {
        // PyTorch's pooling domain: each side's padding at most half the kernel.
        var gen = from c in WindowGen select c with { Lo = Math.Min(c.Lo, c.K / 2), Hi = Math.Min(c.Hi, c.K / 2) };
        gen.Sample(c =>
        {
            var span = c.D * (c.K - 1) + 1;
            // Ceil mode (PyTorch) accepts a first window that overhangs the padded input by at most s − 1.
            if (c.L + c.Lo + c.Hi + c.S - 1 < span)
            {
                Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: true));
                return;
            }
            Assert.Equal(CountWindows(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: true),
                ConvGeometry.PoolOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: true));
            if (c.L + c.Lo + c.Hi < span)
                Assert.Throws<LoomException>(() => ConvGeometry.PoolOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: false));
            else
                Assert.Equal(CountWindows(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: false),
                    ConvGeometry.PoolOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: false));
            var explained = ConvGeometry.ExplainPoolOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, ceilMode: true);
            // The derivation ends with the result, after "= " or, when PyTorch's rule drops the last window, "→ ".
            Assert.Matches($"(= |→ ){explained.Output}$", explained.Derivation);
            Assert.Equal(explained.Derivation.Contains('→', StringComparison.Ordinal), explained.Note is not null);
        }, iter: 5000);
    }

    [Fact]
    public void TransposedConvolutionInvertsTheConvolutionsSize()
    {
        // A convolution with the same settings maps the transposed output back to the input size (output_padding < s).
        var gen = from c in WindowGen from op in Gen.Int[0, 4] select (c, op % c.S);
        gen.Sample(t =>
        {
            var (c, op) = t;
            int size;
            try
            {
                size = ConvGeometry.TransposedOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, op);
            }
            catch (LoomException)
            {
                // Only when the cropping eats the whole output.
                Assert.True((c.L - 1L) * c.S + c.D * (c.K - 1) + op + 1 - c.Lo - c.Hi <= 0);
                return;
            }
            Assert.Equal(c.L, ConvGeometry.OutputSize(size, c.K, c.S, c.Lo, c.Hi, c.D));
            Assert.EndsWith($"= {size}", ConvGeometry.ExplainTransposedOutputSize(c.L, c.K, c.S, c.Lo, c.Hi, c.D, op).Derivation, StringComparison.Ordinal);
        }, iter: 3000);
    }

    [Fact]
    public void SamePaddingKeepsTheLength()
    {
        var gen = from l in Gen.Int[1, 50] from k in Gen.Int[1, 9] from d in Gen.Int[1, 4] select (l, k, d);
        gen.Sample((l, k, d) =>
        {
            var (lo, hi) = ConvGeometry.SamePadding(k, d);
            Assert.True(hi - lo is 0 or 1);
            Assert.Equal(l, ConvGeometry.OutputSize(l, k, 1, lo, hi, d));
        }, iter: 2000);
    }

    /// <summary>
    /// Brute force: the input positions an output position depends on, found by sending an impulse back from it through
    /// each layer (output q of a layer reads its input at q·s − p_lo + i·d, i = 0…k−1). Positions may be negative (padding).
    /// </summary>
    private static SortedSet<long> Dependencies(WindowLayer[] layers, long output)
    {
        var positions = new SortedSet<long> { output };
        for (var l = layers.Length - 1; l >= 0; l--)
        {
            var layer = layers[l];
            var below = new SortedSet<long>();
            foreach (var q in positions)
            {
                for (var i = 0; i < layer.Kernel; i++) below.Add(q * layer.Stride - layer.PadLow + (long)i * layer.Dilation);
            }
            positions = below;
        }
        return positions;
    }

    [Fact]
    public void ReceptiveFieldOfARandomStackMatchesAnImpulse()
    {
        var layer = from k in Gen.Int[1, 5] from s in Gen.Int[1, 3] from d in Gen.Int[1, 3] from p in Gen.Int[0, 3] select new WindowLayer(k, s, d, p);
        var stack = layer.Array[1, 5];
        stack.Sample(layers =>
        {
            var rf = ReceptiveField.Of(layers);
            var first = Dependencies(layers, 0);
            var second = Dependencies(layers, 1);
            Assert.Equal(first.Max - first.Min + 1, rf.Size);
            Assert.Equal(second.Min - first.Min, rf.Jump);
            Assert.Equal(first.Min, rf.Start);
            // Output 1 sees the same window shifted by one jump.
            Assert.Equal(second.Max - second.Min + 1, rf.Size);
            // Trace agrees with Of, layer by layer.
            var trace = ReceptiveField.Trace(layers);
            Assert.Equal(layers.Length, trace.Count);
            Assert.Equal(rf, trace[^1]);
        }, iter: 1000);
    }
}
