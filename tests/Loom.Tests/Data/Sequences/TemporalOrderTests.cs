using Loom.Data.Sequences;

namespace Loom.Tests.Data.Sequences;

public class TemporalOrderTests
{
    [Theory]
    [InlineData("easy", 7, 8, 1, 2, 4, 5)]
    [InlineData("normal", 30, 40, 2, 5, 20, 27)]
    [InlineData("moderate", 60, 80, 10, 20, 45, 54)]
    [InlineData("hard", 100, 110, 10, 20, 50, 60)]
    [InlineData("nightmare", 300, 500, 10, 80, 250, 290)]
    public void SequencesFollowTheLevelsRanges(string level, int minLength, int maxLength, int minT1, int maxT1, int minT2, int maxT2)
    {
        var ranges = TemporalOrder.RangesOf(TemporalOrder.ParseLevel(level));
        Assert.Equal(new TemporalOrderRanges(minLength, maxLength, minT1, maxT1, minT2, maxT2), ranges);
        var g = new Generator(1);
        var seenLengths = new HashSet<int>();
        var seenClasses = new HashSet<int>();
        for (var i = 0; i < 400; i++)
        {
            var (text, label) = TemporalOrder.DrawSequence(ranges, g);
            Assert.InRange(text.Length, minLength, maxLength);
            Assert.Equal('B', text[0]);
            Assert.Equal('E', text[^1]);
            var marks = Enumerable.Range(0, text.Length).Where(p => text[p] is 'X' or 'Y').ToArray();
            Assert.Equal(2, marks.Length);
            Assert.InRange(marks[0], minT1, maxT1);
            Assert.InRange(marks[1], minT2, maxT2);
            Assert.All(text.Where((_, p) => p > 0 && p < text.Length - 1 && !marks.Contains(p)), ch => Assert.Contains(ch, "abcd"));
            Assert.Equal((text[marks[0]] == 'Y' ? 2 : 0) + (text[marks[1]] == 'Y' ? 1 : 0), label);
            seenLengths.Add(text.Length);
            seenClasses.Add(label);
        }
        Assert.Contains(minLength, seenLengths);
        Assert.Contains(maxLength, seenLengths);
        Assert.Equal(4, seenClasses.Count);
    }

    [Fact]
    public void BatchesAreOneHotAndFrontPaddedToTheLevelsMaximumLength()
    {
        var task = new TemporalOrder(TemporalOrderLevel.Normal, seed: 3);
        var batches = task.Epoch(0).ToList();
        Assert.Equal(31, batches.Count);
        var batch = batches[0];
        Assert.Equal(new Shape(32, 40, 8), batch.Inputs.Shape);
        Assert.Equal(new Shape(32), batch.Targets.Shape);
        Assert.Null(batch.Lengths);
        var x = batch.Inputs.ToArray();
        for (var b = 0; b < 32; b++)
        {
            var rowSums = Enumerable.Range(0, 40).Select(t => x.Skip((b * 40 + t) * 8).Take(8).Sum()).ToArray();
            var start = Array.IndexOf(rowSums, 1f);
            Assert.InRange(start, 0, 10);                                   // lengths 30–40
            Assert.All(rowSums[..start], s => Assert.Equal(0f, s));         // zeros in front
            Assert.All(rowSums[start..], s => Assert.Equal(1f, s));         // one-hot after
            Assert.Equal(1f, x[(b * 40 + start) * 8 + 6]);                  // B
            Assert.Equal(1f, x[(b * 40 + 39) * 8 + 7]);                     // E last
        }
        Assert.All(batch.Targets.ToIntArray(), c => Assert.InRange(c, 0, 3));
    }

    [Fact]
    public void EpochsAreSeededFreshAndResumable()
    {
        var a = new TemporalOrder(TemporalOrderLevel.Easy, seed: 5);
        var b = new TemporalOrder("EASY", seed: 5);
        Assert.Equal(a.Epoch(2).First().Inputs.ToArray(), b.Epoch(2).First().Inputs.ToArray());
        Assert.NotEqual(a.Epoch(0).First().Inputs.ToArray(), a.Epoch(1).First().Inputs.ToArray());
        Assert.Equal(a.Epoch(1).Skip(7).First().Targets.ToIntArray(), a.Epoch(1, startBatch: 7).First().Targets.ToIntArray());
        Assert.NotEqual(a.Epoch(0).First().Inputs.ToArray(), a.TestBatches()[0].Inputs.ToArray());
        Assert.Equal(a.TestBatches()[3].Inputs.ToArray(), a.TestBatches()[3].Inputs.ToArray());
        Assert.Equal(31, a.TestBatches().Count);
        Assert.NotEqual(a.Epoch(0).First().Inputs.ToArray(), new TemporalOrder(TemporalOrderLevel.Easy, seed: 6).Epoch(0).First().Inputs.ToArray());
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        Assert.Equal("temporal-order: unknown level 'extreme'; known: easy, normal, moderate, hard, nightmare",
            Assert.Throws<LoomException>(() => new TemporalOrder("extreme", 1)).Message);
        Assert.Equal("temporal-order: batch size must be positive, found 0",
            Assert.Throws<LoomException>(() => new TemporalOrder(TemporalOrderLevel.Easy, 1, batchSize: 0)).Message);
        Assert.Equal("temporal-order: epoch -1 must not be negative",
            Assert.Throws<LoomException>(() => new TemporalOrder(TemporalOrderLevel.Easy, 1).Epoch(-1)).Message);
    }
}
