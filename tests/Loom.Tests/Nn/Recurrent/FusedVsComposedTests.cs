using Loom.Nn;

namespace Loom.Tests.Nn.Recurrent;

/// <summary>The fused kernels (hand-written backward through time) agree with the composed autograd path.</summary>
public class FusedVsComposedTests
{
    private static (RecurrentOutput Result, Dictionary<string, Tensor?> Grads) Run(RecurrentCase c, RecurrentImplementation impl, DType dtype, ulong seed)
    {
        var layer = c.Build(seed, dtype);
        layer.Implementation = impl;
        layer.Generator = new Generator(seed + 1);
        var (x, h0, c0, lengths) = c.Inputs(new Generator(seed + 2), dtype);
        x.RequiresGrad_();
        h0?.RequiresGrad_();
        c0?.RequiresGrad_();
        var result = layer.Forward(x, h0 is null ? null : new RecurrentState(h0, c0), lengths);
        RecurrentAssert.Project(result, new Generator(seed + 3)).Backward();
        var grads = new Dictionary<string, Tensor?> { ["x"] = x.Grad, ["h0"] = h0?.Grad, ["c0"] = c0?.Grad };
        foreach (var (name, p) in layer.NamedParameters()) grads[name] = p.Grad;
        return (result, grads);
    }

    [Theory]
    [InlineData(DType.Float64, 1e-12)]
    [InlineData(DType.Float32, 2e-5)]
    public void FusedEqualsComposedOnRandomConfigurations(DType dtype, double tol)
    {
        var g = new Generator(42);
        for (var i = 0; i < 60; i++)
        {
            var c = RecurrentCase.Draw(g, dropout: i % 5 == 4 ? 0.3 : 0);
            var seed = (ulong)(100 + i);
            var (fused, fusedGrads) = Run(c, RecurrentImplementation.Fused, dtype, seed);
            var (composed, composedGrads) = Run(c, RecurrentImplementation.Composed, dtype, seed);
            RecurrentAssert.Close(fused.Output, composed.Output, tol, $"{c}: output");
            RecurrentAssert.Close(fused.H, composed.H, tol, $"{c}: h_n");
            RecurrentAssert.Close(fused.C, composed.C, tol, $"{c}: c_n");
            foreach (var (name, expected) in composedGrads)
                RecurrentAssert.Close(fusedGrads[name], expected, tol, $"{c}: grad {name}");
        }
    }

    /// <summary>A loss on the final state alone (the output sequence unused) still reaches every parameter.</summary>
    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn_tanh")]
    public void FinalStateAloneCarriesTheGradient(string mode)
    {
        var c = new RecurrentCase(mode, 3, 4, 2, true, true, true, 5, 2, true, false, 0);
        var grads = new List<Tensor?[]>();
        foreach (var impl in new[] { RecurrentImplementation.Fused, RecurrentImplementation.Composed })
        {
            var layer = c.Build(21);
            layer.Implementation = impl;
            var (x, _, _, lengths) = c.Inputs(new Generator(22));
            var r = layer.Forward(x, null, lengths);
            Functional.Sum(Functional.Mul(r.C ?? r.H, r.C ?? r.H)).Backward();
            grads.Add(layer.Parameters().Select(p => p.Grad).ToArray());
        }
        Assert.All(grads[0], g => Assert.NotNull(g));
        for (var i = 0; i < grads[0].Length; i++) RecurrentAssert.Close(grads[0][i], grads[1][i], 1e-12, $"{mode} grad {i}");
    }
}
