using System.CommandLine;
using Mim4dd.IO;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd report runs/&lt;name&gt;`: (re)writes the run's self-contained report.html and its report.md.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "A distillation run directory (finished or not)" };
        var command = new Command("report",
            "Write report.html and report.md for a distillation run: evaluations, loss/lr curves, the synthetic images, the config")
        { run };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var dir = parse.GetValue(run)!;
            Cli.Require(Directory.Exists(dir), dir, "run directory not found", "pass a folder written by `mim4dd distill`");
            Cli.Log($"report: {RunReport.Write(dir)}");
            return 0;
        }));
        return command;
    }
}
