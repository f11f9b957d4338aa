using System.CommandLine;

namespace Loom.Cli.Commands;

/// <summary>The list of sub-commands; one line per command.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return ShapeCommand.Create();
        yield return SummaryCommand.Create();
        yield return TrainCommand.Create();
        yield return EvalCommand.Create();
        yield return PlotCommand.Create();
        yield return ShowCommand.Create();
        yield return GradflowCommand.Create();
        yield return ExportCommand.Create();
        yield break;
    }
}
