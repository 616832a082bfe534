using System.CommandLine;
using Mim4dd.Cli;
using Mim4dd.Cli.Commands;

var root = new RootCommand("mim4dd: dataset distillation (MIM4DD, MTT, DC, DSA, DM, coresets) on CPU with TorchSharp");
root.Subcommands.Add(QuickstartCommand.Create());
root.Subcommands.Add(DataCommands.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(CoresetCommand.Create());
root.Subcommands.Add(ExpertsCommand.Create());
root.Subcommands.Add(DistillCommand.Create());
root.Subcommands.Add(PresetsCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(PairedCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
root.Subcommands.Add(MiCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(SlurmCommand.Create(root));
// Expanded by ConfigFile before parsing; declared so that every verb's --help lists it.
root.Options.Add(Cli.Precision);
root.Options.Add(Cli.LogFormat);
root.Options.Add(Cli.Quiet);
root.Options.Add(Cli.Deterministic);
root.Options.Add(new Option<string?>(ConfigFile.Flag)
    { Description = "JSON object of this verb's options (names without dashes); flags on the command line win", Recursive = true });

string[] expanded;
try { expanded = ConfigFile.Expand(DistillCommand.MethodAsSubcommand(args), root); }
catch (Mim4dd.Runtime.UserError e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
var parse = root.Parse(expanded);
if (parse.Errors.Count > 0)
{
    // System.CommandLine exits 1 on parse errors; usage errors are bad input here: exit 2, one line.
    Console.Error.WriteLine($"error: {Cli.ParseErrorLine(parse)}");
    return 2;
}
return parse.Invoke();
