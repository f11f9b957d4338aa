namespace Loom.Tests.Ops;

public class GradCheckTests
{
    /// <summary>Every op in the table, on 8 random draws of shapes and values: analytic = central differences to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(OpTable.Names), MemberType = typeof(OpTable))]
    public void GradientMatchesFiniteDifferences(string name)
    {
        var op = OpTable.Get(name);
        for (ulong draw = 0; draw < 8; draw++)
        {
            var g = new Generator(1000 + draw);
            var inputs = op.Sample(g);
            var result = GradCheck.Run(op.Apply, inputs);
            Assert.True(result.RelativeError <= 1e-6,
                $"{name} draw {draw} shapes {string.Join(" ", inputs.Select(i => i.Shape))}: {result}");
        }
    }

    /// <summary>The float32 path computes the same values as the float64 path the gradient check ran through.</summary>
    [Theory]
    [MemberData(nameof(OpTable.Names), MemberType = typeof(OpTable))]
    public void Float32AgreesWithFloat64(string name)
    {
        var op = OpTable.Get(name);
        var inputs = op.Sample(new Generator(77));
        var y64 = op.Apply(inputs).ToDoubleArray();
        var y32 = op.Apply(inputs.Select(t => t.Float()).ToArray()).ToDoubleArray();
        Assert.Equal(y64.Length, y32.Length);
        for (var i = 0; i < y64.Length; i++)
            Assert.True(Math.Abs(y64[i] - y32[i]) <= 1e-4 * (1 + Math.Abs(y64[i])), $"{name}[{i}]: float64 {y64[i]} vs float32 {y32[i]}");
    }
}
