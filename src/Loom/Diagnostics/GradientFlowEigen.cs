namespace Loom.Diagnostics;

/// <summary>The largest eigenvalue of a small symmetric matrix, for spectral norms of Jacobians.</summary>
internal static class SymmetricEigen
{
    /// <summary>Cyclic Jacobi rotations until the off-diagonal mass is negligible; returns the largest diagonal entry.</summary>
    public static double LargestByJacobi(double[,] input)
    {
        var n = input.GetLength(0);
        var a = (double[,])input.Clone();
        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, total = 0;
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++)
                {
                    total += a[i, j] * a[i, j];
                    if (i != j) off += a[i, j] * a[i, j];
                }
            if (off <= 1e-30 * Math.Max(total, 1e-300)) break;
            for (var p = 0; p < n - 1; p++)
                for (var q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0) continue;
                    // Rotation zeroing a[p, q]: tan 2θ = 2a_pq / (a_qq − a_pp).
                    var theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var akp = a[k, p];
                        var akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var apk = a[p, k];
                        var aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                }
        }
        var largest = double.NegativeInfinity;
        for (var i = 0; i < n; i++) largest = Math.Max(largest, a[i, i]);
        return largest;
    }

    /// <summary>Power iteration on a positive semi-definite matrix (for large ones).</summary>
    public static double LargestByPowerIteration(double[,] a, int iterations = 500)
    {
        var n = a.GetLength(0);
        var v = new double[n];
        for (var i = 0; i < n; i++) v[i] = 1 + 0.01 * i;
        var lambda = 0.0;
        for (var it = 0; it < iterations; it++)
        {
            var w = new double[n];
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++) w[i] += a[i, j] * v[j];
            var norm = Math.Sqrt(w.Sum(x => x * x));
            if (norm == 0) return 0;
            for (var i = 0; i < n; i++) v[i] = w[i] / norm;
            if (Math.Abs(norm - lambda) <= 1e-13 * norm) return norm;
            lambda = norm;
        }
        return lambda;
    }
}
