using CsCheck;
using Loom.Kernels;

namespace Loom.Tests.Kernels;

/// <summary>
/// The register-held column sums (the recurrent bias gradients) must give the bits of adding the rows one at a time
/// from zero, for any column range (64-wide passes, 16-wide passes and the scalar tail) and leading dimension.
/// </summary>
public class RecurrentColumnSumsTests
{
    [Fact]
    public void GivesTheBitsOfRowByRowAddition()
    {
        Assert.SkipUnless(RecurrentColumnSums.Supported, "no AVX-512F: the fused op adds row by row");
        Gen.Select(Gen.Int[0, 70], Gen.Int[1, 200], Gen.Int[0, 40], Gen.Int[0, 5], Gen.Int).Sample((rows, width, c0, pad, seed) =>
        {
            var ld = c0 + width + pad;
            var c1 = c0 + width;
            var g = new Generator((ulong)(uint)seed);
            var m = Enumerable.Range(0, Math.Max(1, rows * ld)).Select(_ => (float)(g.NextDouble() * 8 - 4)).ToArray();
            var expected = new float[width];
            for (var r = 0; r < rows; r++)
                for (var j = c0; j < c1; j++) expected[j - c0] += m[r * ld + j];
            var actual = Enumerable.Repeat(float.NaN, width + 1).ToArray();
            RecurrentColumnSums.Run(m, rows, ld, c0, c1, actual);
            Assert.Equal(expected, actual[..width]);
            Assert.True(float.IsNaN(actual[width])); // nothing written past the range
        }, iter: 200);
    }

    [Fact]
    public void ShortInputIsRefused()
    {
        Assert.SkipUnless(RecurrentColumnSums.Supported, "no AVX-512F");
        var e = Assert.Throws<ArgumentException>(() => RecurrentColumnSums.Run(new float[63], 4, 16, 0, 16, new float[16]));
        Assert.Contains("4 rows", e.Message, StringComparison.Ordinal);
    }
}
