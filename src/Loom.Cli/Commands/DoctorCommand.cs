using System.CommandLine;
using System.Globalization;
using Loom.Diagnostics;
using Loom.Training;
using Spectre.Console;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom doctor RUN|history.csv [--classes C] [--json]</c>: the loss-curve doctor's findings for a run, as a readable
/// report (Spectre.Console) or one JSON object; for a run directory also (re)writes its <c>doctor.md</c>.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("run") { Description = "A run directory or a history.csv file." };
        var classes = new Option<int?>("--classes") { Description = "Number of classes C (default: from the run's config.json); enables the ln C checks." };
        var window = new Option<int?>("--window") { Description = "Rolling window in steps (default: 4 % of the steps, 5…101)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {\"findings\": [{code, severity, steps, epochs, evidence, causes, fixes, summary}]}." };
        var command = new Command("doctor", "Diagnose a run's loss curves: divergence, spikes, exploding/vanishing gradients, plateau at chance, overfitting… with evidence and fixes.")
        {
            path, classes, window, json,
        };
        command.SetAction(parse =>
        {
            var c = parse.GetValue(classes);
            if (c is < 2) throw new LoomException($"--classes must be at least 2, found {c}");
            var w = parse.GetValue(window);
            if (w is < 3) throw new LoomException($"--window must be at least 3 steps, found {w}");
            var history = RunHistory.Load(parse.GetValue(path)!);
            var report = LossCurveDoctor.Diagnose(history.Rows, c ?? history.Classes, history.Options(w));
            if (history.Run is { } run) AtomicFile.WriteAllText(run.Doctor, report.ToMarkdown(history.Name));
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                stdout.WriteLine(report.ToJson());
                return 0;
            }
            Print(report, history, stdout);
            return 0;
        });
        return command.WithExamples(
            "loom doctor runs/20261127-170000",
            "loom doctor runs/spiky/history.csv --classes 4 --json");
    }

    private static void Print(DoctorReport report, RunHistory history, TextWriter stdout)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Interactive = InteractionSupport.No,
            Ansi = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        });
        var ci = CultureInfo.InvariantCulture;
        console.MarkupLine($"[bold]{Markup.Escape(history.Name)}[/]  [grey]{report.TrainSteps} steps, classes {(report.Classes is { } k ? k.ToString(ci) : "unknown (--classes C enables the ln C checks)")}[/]");
        foreach (var f in report.Findings)
        {
            var colour = f.Severity switch { Severity.Error => "red", Severity.Warning => "yellow", _ => "green" };
            console.WriteLine();
            console.MarkupLine($"[{colour} bold]{Markup.Escape(f.Code)}[/] [grey]({DoctorReport.SeverityName(f.Severity)})[/]  {Markup.Escape(f.Summary)}");
            if (f.Evidence.Count > 0)
            {
                var table = new Table().Border(TableBorder.Simple).AddColumn("evidence").AddColumn(new TableColumn("value").RightAligned());
                foreach (var (key, value) in f.Evidence) table.AddRow(Markup.Escape(key), value.ToString("G6", ci));
                console.Write(table);
            }
            foreach (var cause in f.Causes) console.MarkupLine($"  [grey]cause:[/] {Markup.Escape(cause)}");
            foreach (var fix in f.Fixes) console.MarkupLine($"  [green]try:[/] {Markup.Escape(fix)}");
        }
        if (history.Run is { } run) console.MarkupLine($"\n[grey]wrote {Markup.Escape(run.Doctor)}[/]");
    }
}
