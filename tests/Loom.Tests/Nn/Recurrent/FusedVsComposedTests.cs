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
}
