using Loom.Training;

namespace Loom.Tests.Training;

public class HistoryTests
{
    [Fact]
    public void ParsesOptionalColumnsAsNaN()
    {
        var rows = History.Parse(["step,epoch,split,loss,accuracy,lr,grad_norm", "1,1,train,2.3,,0.1,", "1,1,val,nan,0.5,,"], "h.csv");
        Assert.Equal(2, rows.Count);
        Assert.True(double.IsNaN(rows[0].Accuracy));
        Assert.True(double.IsNaN(rows[1].Loss));
        Assert.Equal(0.5, rows[1].Accuracy);
    }

    [Theory]
    [InlineData(new[] { "step,epoch,loss" }, "line 1: missing column split")]
    [InlineData(new[] { "step,epoch,split,loss" }, "has a header but no rows")]
    [InlineData(new[] { "step,epoch,split,loss", "1,1,train,abc" }, "line 2: loss 'abc' is not a number")]
    [InlineData(new[] { "step,epoch,split,loss", "2,1,train,1", "1,1,train,1" }, "line 3: step 1 comes after step 2")]
    [InlineData(new[] { "step,epoch,split,loss", "1,1" }, "line 2: 2 values, the header has 4")]
    public void BadHistoriesNameTheLine(string[] lines, string expected)
    {
        var e = Assert.Throws<LoomException>(() => History.Parse(lines, "h.csv"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("h.csv", e.Message);
    }
}
