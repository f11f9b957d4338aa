using CsCheck;
using Loom.Kernels;

namespace Loom.Tests.Kernels;

// These tests switch the process-wide Threads.Count and Gemm.KernelWidth (and restore them). The thread count and
// the SIMD widths only change speed, but the Portable width (GemmRows) sums in another order: tests that compare
// other kernels with the GEMM's bits share this collection, so they never run while the width is Portable (the
// transposed-A step product failed so, now and then, when both classes ran at once).
[Collection(GemmWidthCollection.Name)]
public class GemmTests
{
    /// <summary>One random GEMM problem: sizes, transposes, padding of the leading dimensions, alpha and beta.</summary>
    public sealed record Case(bool TransA, bool TransB, int M, int N, int K, int PadA, int PadB, int PadC, float Alpha, float Beta, int Seed)
    {
        public int Lda => (TransA ? M : K) + PadA;

        public int Ldb => (TransB ? K : N) + PadB;

        public int Ldc => N + PadC;

        public int LengthA => (TransA ? K : M) * Lda;

        public int LengthB => (TransB ? N : K) * Ldb;

        public int LengthC => M * Ldc;
    }

    private static readonly Gen<float> Scalars = Gen.OneOf(0f, 1f, -1f, 0.5f, 2.5f, -0.75f);

    // Sizes around the tile sizes (6, 12, 14, 16, 32) with tails, occasionally past KC = 384 and NC = 1024.
    private static readonly Gen<int> Small = Gen.Frequency((4, Gen.Int[1, 40]), (2, Gen.Int[41, 80]), (1, Gen.Int[81, 140]));

    private static readonly Gen<Case> Cases = Gen.Select(Gen.Bool, Gen.Bool, Small, Gen.Frequency((9, Small), (1, Gen.Int[1000, 1060])),
        Gen.Frequency((9, Small), (1, Gen.Int[370, 400])), Gen.Int[0, 3], Gen.Int[0, 3], Gen.Int[0, 3], Scalars, Scalars, Gen.Int,
        (ta, tb, m, n, k, pa, pb, pc, alpha, beta, seed) => new Case(ta, tb, m, n, k, pa, pb, pc, alpha, beta, seed));

    public static TheoryData<GemmKernelWidth> Widths()
    {
        var data = new TheoryData<GemmKernelWidth>();
        foreach (var w in Enum.GetValues<GemmKernelWidth>())
        {
            if (Gemm.Supported(w)) data.Add(w);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Float32MatchesReference(GemmKernelWidth width)
    {
        foreach (var threads in new[] { 1, 2 })
        {
            With(width, threads, () => Cases.Sample(CheckFloat, iter: 80, threads: 1));
        }
    }

    [Fact]
    public void Float32MatchesReferenceWithAvx2OnlyKernel()
    {
        Assert.SkipUnless(Gemm.Supported(GemmKernelWidth.Vector256), "no AVX2 + FMA");
        try
        {
            GemmF32.Narrow256 = true; // the 6×16 kernel of AVX2-only CPUs, also where AVX-512VL would allow 12×16
            With(GemmKernelWidth.Vector256, 2, () => Cases.Sample(CheckFloat, iter: 60, threads: 1));
        }
        finally
        {
            GemmF32.Narrow256 = false;
        }
    }

    [Fact]
    public void Float64MatchesReference()
    {
        foreach (var threads in new[] { 1, 2 })
        {
            With(Gemm.KernelWidth, threads, () => Cases.Sample(CheckDouble, iter: 50, threads: 1));
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Float32BlockingBoundaries(GemmKernelWidth width)
    {
        // Exactly on and one past the tile, KC and NC boundaries, in all four transpose combinations; the last is the
        // one-row path (m = 1, B past 1 MiB, wider than its 2048-column pass).
        int[][] sizes = [[14, 32, 384], [15, 33, 385], [1, 512, 384], [29, 1025, 400], [64, 64, 64], [200, 7, 300], [3, 1100, 20], [1024, 40, 30], [1, 2100, 300]];
        With(width, 2, () =>
        {
            var seed = 1;
            foreach (var s in sizes)
            {
                foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
                {
                    CheckFloat(new Case(ta, tb, s[0], s[1], s[2], 1, 2, 3, 1.5f, 0.5f, seed++));
                }
            }
            // Past MC = 1024 rows with a packed B (k·n > 65536), so B is packed once per row block.
            CheckFloat(new Case(false, false, 1030, 66, 1000, 0, 1, 0, 1f, 1f, seed++));
            CheckFloat(new Case(true, true, 1030, 66, 1000, 1, 0, 1, 1f, 0f, seed));
        });
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Float32IsBitwiseDeterministic(GemmKernelWidth width)
    {
        var c = new Case(false, true, 301, 287, 533, 0, 0, 0, 1f, 0f, 7);
        var (a, b, _) = Data<float>(c);
        float[] Once(int threads)
        {
            var r = new float[c.LengthC];
            With(width, threads, () => Gemm.Run(c.TransA, c.TransB, c.M, c.N, c.K, 1f, a, c.Lda, b, c.Ldb, 0f, r, c.Ldc));
            return r;
        }
        var first = Once(2);
        for (var i = 0; i < 3; i++) Assert.Equal(first, Once(2));
        // Partitioning never splits k and edge tiles round like full ones, so the thread count does not matter either.
        Assert.Equal(first, Once(1));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void OneRowPathRoundsLikeTheKernels(GemmKernelWidth width)
    {
        // Row 0 of a 2-row product goes through the micro-kernel; the same row alone through the one-row path.
        var c = new Case(false, false, 2, 1500, 700, 0, 0, 0, 0.5f, 1.5f, 3);
        var (a, b, c0) = Data<float>(c);
        var two = (float[])c0.Clone();
        var one = c0[..c.N];
        With(width, 1, () =>
        {
            Gemm.Run(false, false, 2, c.N, c.K, c.Alpha, a, c.K, b, c.N, c.Beta, two, c.N);
            Gemm.Run(false, false, 1, c.N, c.K, c.Alpha, a, c.K, b, c.N, c.Beta, one, c.N);
        });
        Assert.Equal(two[..c.N], one);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SmallProductsDoNotAllocate(int threads)
    {
        // A call allocates nothing once the thread's packing buffers exist: on one thread, and on two, where 64³ is
        // split between the caller and a team worker (a reused job object, no closure).
        var a = new float[64 * 64];
        var b = new float[64 * 64];
        var c = new float[64 * 64];
        void Calls()
        {
            for (var i = 0; i < 20; i++)
            {
                Gemm.Run(false, false, 64, 64, 64, 1f, a, 64, b, 64, 0f, c, 64);
                Gemm.Run(true, true, 64, 64, 64, 1f, a, 64, b, 64, 1f, c, 64);
                Gemm.Run(false, false, 1, 64, 64, 1f, a, 64, b, 64, 0f, c, 64);
            }
        }
        With(Gemm.KernelWidth, threads, () =>
        {
            Calls();
            var before = GC.GetAllocatedBytesForCurrentThread();
            Calls();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        });
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void InPlaceAMatchesPackedABitwise(GemmKernelWidth width)
    {
        // op(A) = A is read in place by the 512-bit kernel when C is at most 256 columns wide (and A's rows are not a
        // multiple of 4 KiB apart); op(A) = (Aᵀ)ᵀ is always packed. Same FMAs in the same order: the same bits, on
        // one thread and split over two, for row counts around the 14-row tile, edge columns, two k slices and beta.
        int[][] sizes = [[1, 1, 1], [3, 7, 5], [13, 33, 17], [14, 32, 64], [15, 64, 64], [16, 256, 40], [29, 250, 400],
            [64, 64, 64], [100, 96, 300], [47, 48, 49], [5, 40, 1024], [200, 17, 30]];
        var seed = 11;
        foreach (var s in sizes)
        {
            foreach (var beta in new[] { 0f, 0.5f })
            {
                var direct = new Case(false, false, s[0], s[1], s[2], 3, 1, 2, 1.5f, beta, seed++);
                var (a, b, c0) = Data<float>(direct);
                var viaTranspose = direct with { TransA = true, PadA = 1 };
                var at = new float[viaTranspose.LengthA];
                for (var i = 0; i < direct.M; i++)
                {
                    for (var p = 0; p < direct.K; p++) at[p * viaTranspose.Lda + i] = a[i * direct.Lda + p];
                }
                foreach (var threads in new[] { 1, 2 })
                {
                    var inPlace = (float[])c0.Clone();
                    var packed = (float[])c0.Clone();
                    With(width, threads, () =>
                    {
                        Gemm.Run(false, false, direct.M, direct.N, direct.K, direct.Alpha, a, direct.Lda, b, direct.Ldb, beta, inPlace, direct.Ldc);
                        Gemm.Run(true, false, direct.M, direct.N, direct.K, direct.Alpha, at, viaTranspose.Lda, b, direct.Ldb, beta, packed, direct.Ldc);
                    });
                    Compare(direct, a, b, c0, inPlace, 4 * 6e-8);
                    Assert.Equal(packed, inPlace);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SmallSplitProductsAreBitwiseIndependentOfThreads(GemmKernelWidth width)
    {
        // From 48³ multiply-adds on, products are split over the team (64³: 32 rows each); the split never changes
        // how an element is summed, so one and two threads give the same bits, call after call.
        int[][] sizes = [[64, 64, 64], [48, 48, 48], [50, 70, 33], [100, 20, 70], [16, 512, 128], [32, 128, 512], [9, 300, 60]];
        var seed = 40;
        foreach (var s in sizes)
        {
            foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                var c = new Case(ta, tb, s[0], s[1], s[2], 1, 0, 1, 1f, 0.25f, seed++);
                var (a, b, c0) = Data<float>(c);
                float[] Once(int threads)
                {
                    var r = (float[])c0.Clone();
                    With(width, threads, () => Gemm.Run(ta, tb, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, r, c.Ldc));
                    return r;
                }
                var two = Once(2);
                Compare(c, a, b, c0, two, 4 * 6e-8);
                Assert.Equal(two, Once(2));
                Assert.Equal(two, Once(1));
            }
        }
    }

    [Fact]
    public void TeamRunsEveryPartOnceAndReportsFailures()
    {
        With(Gemm.KernelWidth, 2, () =>
        {
            for (var round = 0; round < 200; round++)
            {
                var counts = new int[1 + round % 9];
                GemmTeam.For(counts.Length, p => Interlocked.Increment(ref counts[p]));
                Assert.All(counts, n => Assert.Equal(1, n));
            }
            // A reused job object (as the GEMM driver's): every part of every job once, none of an earlier job again.
            var work = new CountingWork();
            for (var round = 0; round < 500; round++)
            {
                work.Counts = new int[1 + round % 5];
                GemmTeam.For(work.Counts.Length, work);
                Assert.All(work.Counts, n => Assert.Equal(1, n));
            }
            var ex = Assert.Throws<AggregateException>(() => GemmTeam.For(4, p =>
            {
                if (p == 3) throw new InvalidOperationException("part 3");
            }));
            Assert.Equal("part 3", ex.InnerException!.Message);
        });
    }

    [Fact]
    public void BetaZeroIgnoresNaNInC()
    {
        float[] a = [1, 2, 3, 4];
        float[] b = [5, 6, 7, 8];
        var c = new[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Run(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
        Assert.Equal([19f, 22f, 43f, 50f], c);
    }

    [Fact]
    public void EmptyInnerDimensionScalesC()
    {
        var c = new[] { 1f, 2f, 3f };
        Gemm.Run(false, false, 1, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 2f, c, 3);
        Assert.Equal([2f, 4f, 6f], c);
    }

    [Fact]
    public void ShortSpanIsRejected()
    {
        var ex = Assert.Throws<LoomException>(() =>
            Gemm.Run(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4));
        Assert.Contains("A is 4×4", ex.Message, StringComparison.Ordinal);
        Assert.Throws<LoomException>(() =>
            Gemm.Run(false, false, 4, 4, 4, 1f, new float[16], 3, new float[16], 4, 0f, new float[16], 4));
    }

    private sealed class CountingWork : ITeamWork
    {
        public int[] Counts = [];

        public void Run(int part)
        {
            var counts = Counts;
            Thread.SpinWait(50); // long enough for the worker to claim some parts
            Interlocked.Increment(ref counts[part]);
        }
    }

    private static void CheckFloat(Case c)
    {
        var (a, b, c0) = Data<float>(c);
        var fast = (float[])c0.Clone();
        Gemm.Run(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, fast, c.Ldc);
        Compare(c, a, b, c0, fast, 4 * 6e-8);
    }

    private static void CheckDouble(Case c)
    {
        var (a, b, c0) = Data<double>(c);
        var fast = (double[])c0.Clone();
        Gemm.Run(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, c.Lda, b, c.Ldb, c.Beta, fast, c.Ldc);
        Compare(c, a.Select(x => (float)x).ToArray(), b.Select(x => (float)x).ToArray(), c0.Select(x => (float)x).ToArray(),
            fast, 4 * 1.2e-16);
    }

    // The reference in double over the same inputs; the bound is the usual one for a sum of k products,
    // eps·(k + 2)·(|alpha|·Σ|a·b| + |beta·c|). Padding between rows of C must stay untouched.
    private static void Compare<T>(Case c, float[] a, float[] b, float[] c0, T[] fast, double eps) where T : struct, IConvertible
    {
        int m = c.M, n = c.N, k = c.K, lda = c.Lda, ldb = c.Ldb;
        var expected = new double[m * n];
        var scale = new double[m * n];
        var bRow = new double[n];
        for (var p = 0; p < k; p++)
        {
            for (var j = 0; j < n; j++) bRow[j] = c.TransB ? b[j * ldb + p] : b[p * ldb + j];
            for (var i = 0; i < m; i++)
            {
                double av = c.TransA ? a[p * lda + i] : a[i * lda + p];
                var row = i * n;
                for (var j = 0; j < n; j++)
                {
                    var x = av * bRow[j];
                    expected[row + j] += x;
                    scale[row + j] += Math.Abs(x);
                }
            }
        }
        for (var i = 0; i < c.M; i++)
        {
            for (var j = 0; j < c.Ldc; j++)
            {
                var at = i * c.Ldc + j;
                var got = fast[at].ToDouble(null);
                if (j >= c.N)
                {
                    Assert.True(got.Equals((double)c0[at]), $"{c}: padding C[{i},{j}] changed");
                    continue;
                }
                var want = c.Alpha * expected[i * c.N + j] + (c.Beta == 0 ? 0 : c.Beta * (double)c0[at]);
                var tol = eps * (c.K + 2) * (Math.Abs(c.Alpha) * scale[i * c.N + j] + Math.Abs(c.Beta * c0[at])) + 1e-30;
                Assert.True(Math.Abs(got - want) <= tol, $"{c}: C[{i},{j}] = {got}, expected {want} (tolerance {tol})");
            }
        }
    }

    private static (T[] A, T[] B, T[] C) Data<T>(Case c) where T : struct
    {
        var rng = new Random(c.Seed);
        T[] Fill(int n)
        {
            var x = new T[n];
            for (var i = 0; i < n; i++)
            {
                var v = (float)(rng.NextDouble() * 2 - 1);
                x[i] = typeof(T) == typeof(float) ? (T)(object)v : (T)(object)(double)v;
            }
            return x;
        }
        return (Fill(c.LengthA), Fill(c.LengthB), Fill(c.LengthC));
    }

    private static void With(GemmKernelWidth width, int threads, Action body)
    {
        var (oldWidth, oldThreads) = (Gemm.KernelWidth, Threads.Count);
        try
        {
            Gemm.KernelWidth = width;
            Threads.Count = threads;
            body();
        }
        finally
        {
            Gemm.KernelWidth = oldWidth;
            Threads.Count = oldThreads;
        }
    }
}

/// <summary>Tests that switch <see cref="Gemm.KernelWidth"/>, and tests that compare with the GEMM's bits: never at once.</summary>
[CollectionDefinition(Name)]
public sealed class GemmWidthCollection
{
    public const string Name = "Gemm: process-wide kernel width";
}
