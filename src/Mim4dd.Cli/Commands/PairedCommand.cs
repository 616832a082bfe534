using System.CommandLine;
using Mim4dd.IO;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd paired BASE OTHER [BASE OTHER ...]`: mean differences with 95 % intervals, paired by evaluation net.</summary>
public static class PairedCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs")
        {
            Description = "Run directories in pairs: base then other, each pair made with one seed "
                + "(e.g. mtt-s0 mim4dd-s0 mtt-s1 mim4dd-s1)",
            Arity = ArgumentArity.OneOrMore
        };
        var output = Cli.TableOutput();
        var command = new Command("paired",
            "Compare two methods net by net: other − base with 95 % confidence intervals, per seed, over all nets and over seeds")
        { runs, output };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var list = parse.GetValue(runs)!;
            Cli.Require(list.Length % 2 == 0, "runs", $"got {list.Length} directories, not pairs",
                "pass base and other run directories in pairs");
            var pairs = Enumerable.Range(0, list.Length / 2).Select(i => PairedComparison.Read(list[2 * i], list[2 * i + 1])).ToList();
            Cli.PrintTable(PairedComparison.Table(pairs), parse.GetValue(output));
            return 0;
        }));
        return command;
    }
}
