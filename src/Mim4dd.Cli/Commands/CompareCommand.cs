using System.CommandLine;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd compare runs/a runs/b ...`: one table of method × dataset × IPC × arch with mean ± std and time.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs")
        {
            Description = "Run directories (coreset, distill, quickstart stages; eval*.json adds architectures)",
            Arity = ArgumentArity.OneOrMore
        };
        var output = Cli.TableOutput();
        var command = new Command("compare", "Print one comparison table of finished runs") { runs, output };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var rows = new List<RunRow>();
            var pending = new List<string>();
            var given = parse.GetValue(runs)!;
            var full = given.Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r))).ToHashSet();
            // RUN/random comes with RUN: given both (a glob such as runs/*/ runs/*/random), it would be listed twice.
            foreach (var run in given.Where(r => !IsBaselineOf(full, r)))
            {
                var read = RunSummary.Read(run);
                if (read.Count == 0) pending.Add(run);
                rows.AddRange(read);
            }
            // A glob over a runs folder usually catches a run still distilling: leave it out, say so, fail only if nothing is left.
            if (rows.Count == 0)
                throw UserError.At(pending[0], "holds no evaluation yet (no results.json, evals.jsonl or eval.json)",
                    "let the run finish or run `mim4dd eval` on it");
            foreach (var run in pending)
                Console.Error.WriteLine($"left out {run}: no evaluation yet (still running, or run `mim4dd eval` on it)");
            foreach (var note in LabelRobust.Notes(rows)) Console.Error.WriteLine(note);
            var ranking = RankCorrelation.Lines(rows).ToList();
            Cli.PrintTable(ranking.Count == 0 ? RunSummary.Table(rows) : [.. RunSummary.Table(rows), "", .. ranking],
                parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static bool IsBaselineOf(HashSet<string> runs, string run)
    {
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(run));
        return Path.GetFileName(path) == Mim4dd.Coreset.RandomBaseline.FolderName
            && Path.GetDirectoryName(path) is { } parent && runs.Contains(parent);
    }
}
