using System.CommandLine;

namespace Loom.Cli.Commands;

/// <summary>The list of sub-commands; one line per command.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return ShapeCommand.Create();
        yield break;
    }
}
