using Loom.Kernels;

namespace Loom.Bench;

/// <summary>
/// W1: C = A·B for random float32 n×n matrices, n = 256, 512, 1024, 2048; GFLOP/s = 2n³ / seconds per call.
/// The reference times <c>torch.mm(a, b)</c>, which allocates C per call; Loom's kernel writes a preallocated C.
/// </summary>
public sealed class W1Gemm : Workload
{
    public override string Id => "W1";

    public override void Run(int threads, Action<Row> add)
    {
        var rng = new Generator(42);
        foreach (var n in new[] { 256, 512, 1024, 2048 })
        {
            var a = Randn(rng, n * n);
            var b = Randn(rng, n * n);
            var c = new float[n * n];
            var reps = n switch { 256 => 300, 512 => 100, 1024 => 30, _ => threads == 2 ? 12 : 6 };
            var t = Time(5, reps, () => Gemm.Run(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n));
            add(Rate(Id, $"mm n={n}", threads, "GFLOP/s", 2.0 * n * (double)n * n / 1e9, t, $"Gemm.Run {Gemm.KernelWidth}, C preallocated"));
        }
    }

    internal static float[] Randn(Generator rng, int count)
    {
        var x = new float[count];
        for (var i = 0; i < count; i++) x[i] = (float)rng.NextNormal();
        return x;
    }
}
