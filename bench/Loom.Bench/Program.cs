namespace Loom.Bench;

/// <summary>Workloads W1–W7 of ../shared/anchors/torchsharp, printed as the same markdown table.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("usage: Loom.Bench [W1 ...] [--out FILE]");
        return args.Length == 0 ? 0 : 1;
    }
}
