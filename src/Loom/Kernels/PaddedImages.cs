using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Loom.Kernels;

/// <summary>
/// Images copied once into a zero-padded layout [C, Hp, Wp] with Hp = outH + (kH−1)·dH and Wp = outW + (kW−1)·dW,
/// the image at rows pT…, columns pL…, so that for stride 1 every row of the column matrix is a contiguous run of
/// it: taking the window positions over the padded width (j = oh·Wp + ow, ow &lt; Wp; the last (kW−1)·dW of each
/// row are junk columns the GEMM computes and the caller drops), row r = (c, kh, kw) of image i is
/// data[i·ImageSize + Offset(r) + j] with Offset(r) = c·Hp·Wp + kh·dH·Wp + kw·dW. The GEMM then packs its panels with
/// one vector copy per 32 columns (<see cref="GemmImplicit.PaddedColumns"/>): no per-row tap arithmetic, no zero
/// fill, at the price of (kW−1)·dW / Wp more columns (W6: 2 / 58).
/// </summary>
internal readonly unsafe struct PaddedImages(float* data, PatchGeometry patch, int* offsets, int rows)
{
    /// <summary>Rows of the padded image: outH + (kH−1)·dH.</summary>
    public static int PaddedHeight(in PatchGeometry g) => g.OutHeight + ((g.KernelHeight - 1) * g.DilationHeight);

    /// <summary>Columns of the padded image: outW + (kW−1)·dW.</summary>
    public static int PaddedWidth(in PatchGeometry g) => g.OutWidth + ((g.KernelWidth - 1) * g.DilationWidth);

    /// <summary>Floats of one padded image.</summary>
    public static int Size(in PatchGeometry g) => g.Channels * PaddedHeight(g) * PaddedWidth(g);

    /// <summary>Floats past the last image that the junk columns of its last rows read (kept zero).</summary>
    public static int Slack(in PatchGeometry g) => ((g.KernelWidth - 1) * g.DilationWidth) + 16;

    /// <summary>Whether the layout applies: stride 1, padding not negative.</summary>
    public static bool Applies(in PatchGeometry g) => g.StrideHeight == 1 && g.StrideWidth == 1 && g.PadTop >= 0 && g.PadLeft >= 0;

    /// <summary>offsets[r] for the rows r of the group whose first image channel is <paramref name="channel0"/> (r &lt; count).</summary>
    public static void Offsets(in PatchGeometry g, int channel0, int count, int* offsets)
    {
        var (hp, wp) = (PaddedHeight(g), PaddedWidth(g));
        var taps = g.KernelHeight * g.KernelWidth;
        for (var r = 0; r < count; r++)
        {
            var (c, t) = (channel0 + (r / taps), r % taps);
            offsets[r] = (c * hp * wp) + (t / g.KernelWidth * g.DilationHeight * wp) + (t % g.KernelWidth * g.DilationWidth);
        }
    }

    /// <summary>dst ← the padded copies of <paramref name="count"/> images [C, H, W] (every float written, slack included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pad(float* images, in PatchGeometry g, int count, float* dst)
    {
        var (h, w, hp, wp) = (g.Height, g.Width, PaddedHeight(g), PaddedWidth(g));
        // Image columns [iw0, iw1) land at padded columns pL + iw inside [0, Wp); likewise rows.
        var (iw0, iw1) = (0, Math.Clamp(wp - g.PadLeft, 0, w));
        for (var i = 0; i < count; i++)
        {
            for (var c = 0; c < g.Channels; c++)
            {
                var plane = images + ((nint)i * g.ImageSize) + ((nint)c * h * w);
                var d = dst + ((((nint)i * g.Channels) + c) * hp * wp);
                for (var r = 0; r < hp; r++, d += wp)
                {
                    var ih = r - g.PadTop;
                    if ((uint)ih >= (uint)h || iw1 <= iw0)
                    {
                        Zero(d, wp);
                        continue;
                    }
                    var lead = Math.Min(g.PadLeft, wp);
                    Zero(d, lead);
                    var n = iw1 - iw0;
                    ImageColumns.Copy(plane + ((nint)ih * w), d + lead, n);
                    Zero(d + lead + n, wp - lead - n);
                }
            }
        }
        Zero(dst + ((nint)count * Size(g)), Slack(g));
    }

    /// <summary>Rows of the column matrix (the group's channels × kH·kW).</summary>
    public int RowCount => rows;

    /// <summary>Columns per image: outH·Wp.</summary>
    public int ColumnsPerImage => patch.OutHeight * PaddedWidth(patch);

    /// <summary>Row r from image i's column jj on: data + i·Size + Offset(r) + jj.</summary>
    public float* At(int r, int i, int jj) => data + ((nint)i * Size(patch)) + offsets[r] + jj;

    public PatchGeometry Patch => patch;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* d, int n)
    {
        var t = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; t + 8 <= n; t += 8) Vector256<float>.Zero.Store(d + t);
        }
        for (; t < n; t++) d[t] = 0f;
    }
}
