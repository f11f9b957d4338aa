using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Loom.Cli;

/// <summary>
/// Adds an "Examples:" section to a command's <c>--help</c> (System.CommandLine 3.0 has no public way to extend the
/// help layout): the command gets its own hidden help option whose action prints the usual help, then the examples.
/// (A parse error prints the error and a pointer to --help, not the help: see Program.Run.)
/// </summary>
internal static class HelpExamples
{
    /// <summary>Shows <paramref name="examples"/> (command lines, one per entry) at the end of the command's help.</summary>
    public static TCommand WithExamples<TCommand>(this TCommand command, params string[] examples) where TCommand : Command
    {
        var help = new HelpOption { Hidden = true };
        help.Action = new ExamplesHelpAction((HelpAction)help.Action!, examples);
        command.Options.Add(help);
        return command;
    }

    private sealed class ExamplesHelpAction(HelpAction inner, string[] examples) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var rc = inner.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(examples.Length == 1 ? "Example:" : "Examples:");
            foreach (var example in examples) output.WriteLine($"  {example}");
            output.WriteLine();
            return rc;
        }
    }
}
