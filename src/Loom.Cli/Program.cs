using System.CommandLine;
using System.CommandLine.Invocation;
using Loom.Cli.Commands;

namespace Loom.Cli;

/// <summary>The <c>loom</c> command line: each sub-command lives in Commands/ and is registered here.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the CLI with the given writers (tests call this in-process).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        Imaging.SkiaImageDecoder.Register();
        var root = BuildRoot();
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Action is not ParseErrorAction parseError) return parsed.Invoke(config);
            // A mistyped command line gets its error (and a did-you-mean) and a pointer to the help, not a page of help.
            parseError.ShowHelp = false;
            var rc = parsed.Invoke(config);
            stderr.WriteLine($"See '{HelpCommandLine(parsed.CommandResult.Command)} --help'.");
            return rc;
        }
        catch (LoomException e)
        {
            stderr.WriteLine($"loom: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"loom: {e.Message}");
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            stderr.WriteLine($"loom: {e.Message}");
            return 1;
        }
        catch (ArgumentException e) when (e.ParamName is "path" or "path1" or "path2" or "paths" or "fileName" or "sourceFileName" or "destFileName")
        {
            // A file name the system refuses (a NUL character, found by fuzzing the arguments): one line, no trace.
            stderr.WriteLine($"loom: invalid file name: {e.Message}");
            return 1;
        }
    }

    private static string HelpCommandLine(Command command) =>
        command is RootCommand || command.Parents.FirstOrDefault() is not Command parent
            ? "loom"
            : $"{HelpCommandLine(parent)} {command.Name}";

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("Loom: convolutional and recurrent networks in pure C# that explain their shapes, gradients and loss curves.")
        {
            HelpName = "loom", // usage lines say `loom`, not the assembly name
        };
        foreach (var command in CommandRegistry.All()) root.Subcommands.Add(command);
        return root;
    }
}
