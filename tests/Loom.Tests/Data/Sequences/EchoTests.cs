using Loom.Data.Sequences;

namespace Loom.Tests.Data.Sequences;

public class EchoTests
{
    [Fact]
    public void TrainingTargetsAreTheInputDelayedWithBlanksInFront()
    {
        var task = new Echo(delay: 4, seed: 1);
        Assert.Equal(27, task.InputSize);
        Assert.Equal(27, task.NumClasses);
        Assert.Equal(TargetKind.PerStep, task.Targets);
        var batch = task.Epoch(0).First();
        Assert.Equal(new Shape(32, 15, 27), batch.Inputs.Shape);
        Assert.Equal(new Shape(32, 15), batch.Targets.Shape);
        var letters = Letters(batch);
        var targets = batch.Targets.ToIntArray();
        for (var b = 0; b < 32; b++)
        {
            for (var t = 0; t < 15; t++)
            {
                Assert.InRange(letters[b, t], 1, 26);
                Assert.Equal(t < 4 ? 0 : letters[b, t - 4], targets[b * 15 + t]);
            }
        }
        Assert.Equal(32, task.Epoch(3).Count());
    }

    [Fact]
    public void TestProtocolIs500StringsOfLength15To25ScoredFromTheDelayOn()
    {
        var task = new Echo(delay: 4, seed: 2);
        var test = task.TestBatches();
        Assert.Equal(500, test.Sum(b => b.Count));
        var lengths = test.SelectMany(b => b.Lengths!).ToArray();
        Assert.All(lengths, l => Assert.InRange(l, 15, 25));
        Assert.Contains(15, lengths);
        Assert.Contains(25, lengths);
        var scored = 0;
        foreach (var batch in test)
        {
            var letters = Letters(batch);
            var targets = batch.Targets.ToIntArray();
            var x = batch.Inputs.ToArray();
            for (var b = 0; b < batch.Count; b++)
            {
                for (var t = 0; t < batch.Steps; t++)
                {
                    var target = targets[b * batch.Steps + t];
                    if (t < 4 || t >= batch.Lengths![b])
                    {
                        Assert.Equal(SequenceBatch.IgnoreIndex, target);
                        if (t >= batch.Lengths![b]) Assert.All(x.Skip((b * batch.Steps + t) * 27).Take(27), v => Assert.Equal(0f, v));
                    }
                    else
                    {
                        Assert.Equal(letters[b, t - 4], target);
                        scored++;
                    }
                }
            }
        }
        Assert.Equal(lengths.Sum() - 4 * 500, scored);
        Assert.Equal(test[0].Inputs.ToArray(), task.TestBatches()[0].Inputs.ToArray());
    }

    [Fact]
    public void VariableDelayIsAnExtraOneHotInputOfLength20()
    {
        var task = Echo.WithMaxDelay(8, seed: 3);
        Assert.Equal(27 + 9, task.InputSize);
        var batch = task.Epoch(0).First();
        Assert.Equal(new Shape(32, 20, 36), batch.Inputs.Shape);
        var x = batch.Inputs.ToArray();
        var targets = batch.Targets.ToIntArray();
        var letters = Letters(batch);
        var delays = new HashSet<int>();
        for (var b = 0; b < 32; b++)
        {
            var delay = Enumerable.Range(0, 9).Single(d => x[(b * 20) * 36 + 27 + d] == 1);
            delays.Add(delay);
            for (var t = 0; t < 20; t++)
            {
                Assert.Equal(1f, x[(b * 20 + t) * 36 + 27 + delay]);
                Assert.Equal(t < delay ? 0 : letters[b, t - delay], targets[b * 20 + t]);
            }
        }
        Assert.True(delays.Count >= 5);
        var test = task.TestBatches();
        Assert.Equal(500, test.Sum(b => b.Count));
        Assert.All(test, b => Assert.Equal(20, b.Steps));
    }

    [Fact]
    public void BadInputGivesErrorsThatNameTheValue()
    {
        Assert.Equal("echo: delay 15 must be less than the sequence length 15", Assert.Throws<LoomException>(() => new Echo(15, 1)).Message);
        Assert.Equal("echo: delay -1 must not be negative", Assert.Throws<LoomException>(() => new Echo(-1, 1)).Message);
        Assert.Equal("echo: max delay 20 must be less than the sequence length 20", Assert.Throws<LoomException>(() => Echo.WithMaxDelay(20, 1)).Message);
        Assert.Equal("echo: start batch 40 is outside 0..32 (batches per epoch)", Assert.Throws<LoomException>(() => new Echo(2, 1).Epoch(0, 40)).Message);
    }

    /// <summary>The letter (1–26) at each step of each row, 0 where the row is padding.</summary>
    private static int[,] Letters(SequenceBatch batch)
    {
        var x = batch.Inputs.ToArray();
        var f = batch.Inputs.Shape[2];
        var letters = new int[batch.Count, batch.Steps];
        for (var b = 0; b < batch.Count; b++)
            for (var t = 0; t < batch.Steps; t++)
                for (var c = 1; c < 27; c++)
                    if (x[(b * batch.Steps + t) * f + c] == 1) letters[b, t] = c;
        return letters;
    }
}
