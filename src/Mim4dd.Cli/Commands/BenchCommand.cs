using System.CommandLine;
using Mim4dd.Bench;

namespace Mim4dd.Cli.Commands;

public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that write JSON (machine, threads, versions, min/median figures) under bench/results/");
        var batch = new Option<int>("--batch") { Description = "Minibatch size", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after 2 warm-up steps)", DefaultValueFactory = _ => 10 };
        var output = new Option<string?>("--output") { Description = "JSON file to write (default bench/results/convnet-<utc time>.json)" };
        var threads = Cli.Threads();
        var convnet = new Command("convnet", "ConvNet-3 forward+backward images/s and GFLOP/s for 1×28×28 and 3×32×32") { batch, steps, output, threads };
        convnet.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            Cli.Require(parse.GetValue(batch) >= 1, "--batch", $"must be at least 1, got {parse.GetValue(batch)}", "pass --batch 256");
            Cli.Require(parse.GetValue(steps) >= 1, "--steps", $"must be at least 1, got {parse.GetValue(steps)}", "pass --steps 10");
            var report = ConvNetBench.Run(parse.GetValue(batch), parse.GetValue(steps), Cli.Log);
            var path = parse.GetValue(output) ?? Path.Combine("bench", "results", $"convnet-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
            report.Save(path);
            Cli.Log($"machine: {report.Machine}");
            Cli.Log($"wrote {path}");
            return 0;
        }));
        bench.Subcommands.Add(convnet);
        return bench;
    }
}
