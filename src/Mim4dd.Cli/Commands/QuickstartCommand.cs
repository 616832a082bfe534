using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runs;
using Mim4dd.Runtime;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd quickstart`: <see cref="Quickstart"/> with the cache, output, evaluation networks and seed as flags.</summary>
public static class QuickstartCommand
{
    public static Command Create()
    {
        var cacheDir = Cli.CacheDir();
        var outDir = Cli.Out();
        var repeats = new Option<int>("--repeats") { Description = "Evaluation networks per set", DefaultValueFactory = _ => 5 };
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var command = new Command("quickstart",
            "Fetch MNIST, distil 1 image per class with MIM4DD, evaluate it next to 1 random real image per class, write a report")
        { cacheDir, outDir, repeats, seed, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            OptionRange.AtLeast("--repeats", parse.GetValue(repeats), 1, "pass --repeats 5");
            var cache = CacheDirectory.Resolve(parse.GetValue(cacheDir));
            var root = new RunDirectory(parse.GetValue(outDir) ?? Path.Combine("runs", "quickstart")).Claim().Path;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = Quickstart.Run(cache, root, parse.GetValue(repeats), parse.GetValue(seed), Cli.Log, Cli.StopRequests());
            Console.WriteLine();
            Console.WriteLine(report);
            Cli.Log($"report: {Path.Combine(root, RunDirectory.ReportName)}  ({clock.Elapsed.TotalMinutes:F1} min)");
            return 0;
        }));
        return command;
    }
}
