using Loom.Data.Sequences;

namespace Loom.Tests.Data.Sequences;

public class SequenceBatchTests
{
    [Fact]
    public void AcceptsPerSequenceAndPerStepTargetsWithLengthsInRange()
    {
        var perSequence = new SequenceBatch(Tensor.Zeros(2, 5, 3), Tensor.FromArray(new[] { 0, 1 }, 2));
        Assert.Equal((2, 5), (perSequence.Count, perSequence.Steps));
        var perStep = new SequenceBatch(Tensor.Zeros(2, 5, 3), Tensor.FromArray(new int[10], 2, 5), [5, 1]);
        Assert.Equal(new[] { 5, 1 }, perStep.Lengths!);
    }

    [Theory]
    [InlineData(new[] { 2, 5, 3 }, new[] { 3 }, null, "sequence batch: targets must be [2] or [2, 5] for inputs [2, 5, 3], found [3]")]
    [InlineData(new[] { 2, 5, 3 }, new[] { 2, 4 }, null, "sequence batch: targets must be [2] or [2, 5] for inputs [2, 5, 3], found [2, 4]")]
    [InlineData(new[] { 2, 5 }, new[] { 2 }, null, "sequence batch: inputs must be [B, T, F] (batch-first), found [2, 5]")]
    [InlineData(new[] { 2, 5, 3 }, new[] { 2, 5 }, new[] { 5, 5, 5 }, "sequence batch: 3 lengths given for a batch of 2 sequences")]
    [InlineData(new[] { 2, 5, 3 }, new[] { 2, 5 }, new[] { 5, 6 }, "sequence batch: lengths[1] = 6 is outside 1..5 (the inputs have 5 steps)")]
    [InlineData(new[] { 2, 5, 3 }, new[] { 2 }, new[] { 0, 5 }, "sequence batch: lengths[0] = 0 is outside 1..5 (the inputs have 5 steps)")]
    public void MismatchedShapesOrLengthsNameTheValues(int[] inputs, int[] targets, int[]? lengths, string expected)
    {
        var e = Assert.Throws<LoomException>(() =>
            new SequenceBatch(Tensor.Zeros(new Shape(inputs)), Tensor.FromArray(new int[new Shape(targets).Numel], targets), lengths));
        Assert.Equal(expected, e.Message);
    }
}
