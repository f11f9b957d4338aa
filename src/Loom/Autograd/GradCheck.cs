namespace Loom;

/// <summary>
/// Finite-difference gradient check in float64: compares the gradients from <see cref="Tensor.Backward"/> with
/// central differences (f(x + ε) − f(x − ε)) / 2ε of a random projection ⟨f(x), R⟩, element by element.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks every input of <paramref name="f"/> (all must be float64). Inputs are cloned; <paramref name="f"/>
    /// must be deterministic. Returns the worst mismatch found.
    /// </summary>
    public static GradCheckResult Run(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, ulong seed = 1234)
    {
        var leaves = new Tensor[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            if (inputs[i].DType != DType.Float64)
                throw new LoomException($"gradcheck: input {i} is {inputs[i].DType.TorchName()}; gradient checks need float64 inputs");
            leaves[i] = inputs[i].Clone().RequiresGrad_();
        }

        var y = f(leaves);
        var projection = Tensor.Randn(y.Shape, new Generator(seed), DType.Float64);
        Functional.Sum(Functional.Mul(y, projection)).Backward();

        var worst = new GradCheckResult(0, 0, -1, 0, 0);
        using var _ = Autograd.NoGrad();
        for (var i = 0; i < leaves.Length; i++)
        {
            var x = leaves[i];
            var analytic = x.Grad?.ToDoubleArray() ?? new double[x.Numel];
            var data = x.AsDoubleSpan();
            for (var j = 0; j < x.Numel; j++)
            {
                var saved = data[j];
                data[j] = saved + eps;
                var plus = Project(f(leaves), projection);
                data[j] = saved - eps;
                var minus = Project(f(leaves), projection);
                data[j] = saved;
                var numeric = (plus - minus) / (2 * eps);
                var error = Math.Abs(analytic[j] - numeric) / Math.Max(1.0, Math.Abs(numeric));
                if (double.IsNaN(error) || error > worst.RelativeError)
                    worst = new GradCheckResult(error, i, j, analytic[j], numeric);
            }
        }
        return worst;
    }

    private static double Project(Tensor y, Tensor projection) => Functional.Sum(Functional.Mul(y, projection)).Item();
}

/// <summary>The worst element of a gradient check: |analytic − numeric| / max(1, |numeric|) and where it occurred.</summary>
public sealed record GradCheckResult(double RelativeError, int Input, int Element, double Analytic, double Numeric)
{
    public override string ToString() =>
        $"relative error {RelativeError:E3} at input {Input} element {Element}: analytic {Analytic:G10}, numeric {Numeric:G10}";
}
