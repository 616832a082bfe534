using System.CommandLine;
using Mim4dd.Distill;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd presets`: the distillation presets with their values and where they come from.</summary>
public static class PresetsCommand
{
    public static Command Create()
    {
        var command = new Command("presets", "List the distillation presets (`distill --preset NAME`) with their values and source");
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            Console.WriteLine("| preset | method | ipc | syn-steps | expert-epochs | max-start-epoch "
                + "| lr-img | lr-lr | lr-teacher | batch-syn | zca | DATM: window, lr-y, gate, init | source |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var (name, p) in MttPresets.All)
            {
                var o = p.Options;
                var datm = o.SoftLabels is null && o.Window is null ? "–"
                    : $"{o.Window?.Min ?? 0}..{(o.Window?.Current is { } c ? $"{c}→" : "")}{o.MaxStartEpoch}"
                        + (o.Window?.Current is null ? "" : $" over {o.Window.ExpansionIterations} it")
                        + $", {o.SoftLabels?.Lr.ToString("G") ?? "hard labels"}, {o.MatchThreshold?.ToString("G") ?? "none"}, {o.PixInit}";
                Console.WriteLine($"| {name} | {p.Method} | {o.ImagesPerClass} | {o.SynSteps} | {o.ExpertEpochs} | {o.MaxStartEpoch} "
                    + $"| {o.LrImg:G} | {o.LrLr:G} | {o.LrTeacher:G} | {o.BatchSyn?.ToString() ?? "all"} "
                    + $"| {(o.Zca ? "yes" : "no")} | {datm} | {p.Source} |");
            }
            return 0;
        }));
        return command;
    }
}
