using System.CommandLine;
using Mim4dd.IO;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd compare runs/a runs/b ...`: one table of method × dataset × IPC × arch with mean ± std and time.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories (coreset, distill, quickstart stages; eval*.json adds architectures)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--output") { Description = "Also write the table to this Markdown file" };
        var command = new Command("compare", "Print one comparison table of finished runs") { runs, output };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var rows = parse.GetValue(runs)!.SelectMany(RunSummary.Read).ToList();
            var lines = RunSummary.Table(rows).ToList();
            foreach (var line in lines) Console.WriteLine(line);
            if (parse.GetValue(output) is { } file) AtomicFile.WriteAllText(file, string.Join('\n', lines) + "\n");
            return 0;
        }));
        return command;
    }
}
