using Mim4dd.Runtime;
using System.CommandLine;
using System.Text.Json;
using Mim4dd.Bench;
using Mim4dd.Distill;

namespace Mim4dd.Cli.Commands;

public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench",
            "Benchmarks that write JSON (machine, threads, versions, min/median figures) under bench/results/");
        bench.Subcommands.Add(ConvNet());
        bench.Subcommands.Add(Unroll());
        bench.Subcommands.Add(Distill());
        bench.Subcommands.Add(Roofline());
        bench.Subcommands.Add(Eval());
        bench.Subcommands.Add(Compare());
        return bench;
    }

    private static Option<string?> Output(string name) => new("--output")
    { Description = $"JSON file to write (default bench/results/{name}-<utc time>.json)" };

    private static void Save(BenchReport report, string? output)
    {
        var path = output ?? Path.Combine("bench", "results", $"{report.Benchmark}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        report.Save(path);
        Cli.Log($"machine: {report.Machine}");
        Cli.Log($"wrote {path}");
    }

    private static Command Roofline()
    {
        var size = new Option<int>("--size")
        { Description = "Square matrix side n (2n³ FLOPs per product)", DefaultValueFactory = _ => 2048 };
        var repeats = new Option<int>("--repeats")
        { Description = "Timed products per precision (after one warm-up)", DefaultValueFactory = _ => 10 };
        var output = Output("roofline");
        var threads = Cli.Threads();
        var command = new Command("roofline",
            "Matmul GFLOP/s in fp32 and bf16 (bf16 only where the CPU has it): the ceiling other rows are compared with")
        { size, repeats, output, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            Cli.Require(parse.GetValue(size) >= 16 && parse.GetValue(repeats) >= 1, "--size/--repeats", "must be at least 16 and 1",
                "pass e.g. --size 2048 --repeats 10");
            Save(RooflineBench.Run(parse.GetValue(size), parse.GetValue(repeats), Cli.Log), parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static Command Eval()
    {
        var ipc = new Option<string>("--ipc") { Description = "Comma-separated images per class", DefaultValueFactory = _ => "1,10,50" };
        var repeats = new Option<int>("--repeats") { Description = "Evaluation networks R", DefaultValueFactory = _ => 5 };
        var epochs = new Option<int>("--epochs")
        { Description = "Epochs E per network (the papers: 1000; figures are per net-epoch)", DefaultValueFactory = _ => 100 };
        var test = new Option<int>("--test-images")
        { Description = "Test images each network is scored on", DefaultValueFactory = _ => 10000 };
        var output = Output("eval");
        var threads = Cli.Threads();
        var command = new Command("eval",
            "Seconds to evaluate a CIFAR-10-shaped synthetic set with the protocol (R nets, DSA) at several IPC")
        { ipc, repeats, epochs, test, output, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var ipcs = Cli.IntList(parse.GetValue(ipc)!, "--ipc");
            Cli.Require(parse.GetValue(repeats) >= 1 && parse.GetValue(epochs) >= 1 && parse.GetValue(test) >= 1,
                "--repeats/--epochs/--test-images", "must be at least 1", "pass e.g. --repeats 5 --epochs 100");
            Save(EvalBench.Run(ipcs, parse.GetValue(repeats), parse.GetValue(epochs), parse.GetValue(test), Cli.Log),
                parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static Command Compare()
    {
        var a = new Argument<string>("a") { Description = "Baseline benchmark JSON" };
        var b = new Argument<string>("b") { Description = "Benchmark JSON to compare with it" };
        var command = new Command("compare", "Two benchmark files of the same kind side by side, with ratios B / A") { a, b };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            foreach (var line in BenchCompare.Lines(parse.GetValue(a)!, parse.GetValue(b)!)) Console.WriteLine(line);
            return 0;
        }));
        return command;
    }

    private static Command ConvNet()
    {
        var batch = new Option<int>("--batch") { Description = "Minibatch size", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after 2 warm-up steps)", DefaultValueFactory = _ => 10 };
        var output = Output("convnet");
        var threads = Cli.Threads();
        var command = new Command("convnet", "ConvNet-3 forward+backward images/s and GFLOP/s for 1×28×28 and 3×32×32")
        { batch, steps, output, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            OptionRange.AtLeast("--batch", parse.GetValue(batch), 1, "pass --batch 256");
            OptionRange.AtLeast("--steps", parse.GetValue(steps), 1, "pass --steps 10");
            Save(ConvNetBench.Run(parse.GetValue(batch), parse.GetValue(steps), Cli.Log), parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static Command Unroll()
    {
        var steps = new Option<string>("--steps") { Description = "Comma-separated syn-steps N", DefaultValueFactory = _ => "10,20,40,80" };
        var shape = new Option<string>("--shape")
        {
            Description = $"Data shape ({string.Join(", ", MatchingWorkload.Shapes.Keys)}); generated tensors",
            DefaultValueFactory = _ => "cifar10"
        };
        var ipc = new Option<int>("--ipc") { Description = "Images per class (batch-syn = all)", DefaultValueFactory = _ => 10 };
        var repeats = new Option<int>("--repeats")
        { Description = "Timed gradients per configuration (after one warm-up)", DefaultValueFactory = _ => 2 };
        var single = new Option<string?>("--single")
        { Description = "Internal: measure one path:steps in this process and print JSON", Hidden = true };
        var output = Output("unroll");
        var threads = Cli.Threads();
        var arch = Arch();
        var command = new Command("unroll",
            "Naive vs reverse trajectory-matching gradient: seconds and peak memory per syn-steps (each in its own process)")
        { steps, shape, ipc, repeats, arch, single, output, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var counts = Cli.IntList(parse.GetValue(steps)!, "--steps");
            Cli.Require(parse.GetValue(ipc) >= 1 && parse.GetValue(repeats) >= 1, "--ipc/--repeats", "must be at least 1",
                "pass e.g. --ipc 10 --repeats 2");
            if (parse.GetValue(single) is { } one)
            {
                var parts = one.Split(':');
                Cli.Require(parts.Length == 2 && int.TryParse(parts[1], out int n) && n >= 1, "--single", $"'{one}' is not path:steps",
                    "pass e.g. reverse:20");
                var m = UnrollBench.Measure(parts[0], int.Parse(parts[1]), parse.GetValue(shape)!, parse.GetValue(ipc),
                    parse.GetValue(repeats), parse.GetValue(arch)!);
                Console.WriteLine(JsonSerializer.Serialize(m));
                return 0;
            }
            var net = Nets.NetRegistry.Get(parse.GetValue(arch)!).Name;   // unknown names fail before any child starts
            var report = UnrollBench.Run(counts, parse.GetValue(shape)!, parse.GetValue(ipc), parse.GetValue(repeats), net, SelfCommand(),
                Cli.Log);
            Save(report, parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static Command Distill()
    {
        var method = new Option<string>("--method")
        { Description = $"Comma-separated methods: {string.Join(", ", DistillMethods.Names)}", DefaultValueFactory = _ => "mtt,mim4dd" };
        var synSteps = new Option<int>("--syn-steps") { Description = "Student steps N per iteration", DefaultValueFactory = _ => 20 };
        var iterations = new Option<int>("--iterations")
        { Description = "Timed iterations per method and shape (after one warm-up)", DefaultValueFactory = _ => 3 };
        var shape = new Option<string>("--shape")
        {
            Description = $"Comma-separated data shapes ({string.Join(", ", MatchingWorkload.Shapes.Keys)}); generated tensors",
            DefaultValueFactory = _ => "mnist,cifar10"
        };
        var ipc = new Option<int>("--ipc") { Description = "Images per class of the synthetic set", DefaultValueFactory = _ => 10 };
        var batchSyn = new Option<int?>("--batch-syn")
        {
            Description = "Synthetic minibatch per student step of mtt, mim4dd and bptt (default: all images; "
                + "the CIFAR-100 IPC 50 preset: 125)"
        };
        var output = Output("distill");
        var threads = Cli.Threads();
        var arch = Arch();
        var command = new Command("distill",
            "Seconds per distillation iteration of each method at one IPC and data shape, and MIM's overhead over MTT")
        { method, synSteps, iterations, shape, ipc, batchSyn, arch, output, threads };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var methods = parse.GetValue(method)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var m in methods)
                Cli.Require(DistillMethods.Names.Contains(m), $"--method {m}", "unknown method",
                    $"use {string.Join(", ", DistillMethods.Names)}");
            var shapes = parse.GetValue(shape)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var s in shapes) Cli.Require(MatchingWorkload.Shapes.ContainsKey(s), $"--shape {s}", "unknown shape",
                $"use {string.Join(", ", MatchingWorkload.Shapes.Keys)}");
            Cli.Require(parse.GetValue(synSteps) >= 1 && parse.GetValue(iterations) >= 1 && parse.GetValue(ipc) >= 1,
                "--syn-steps/--iterations/--ipc", "must be at least 1", "pass e.g. --syn-steps 20 --iterations 3 --ipc 10");
            OptionRange.AtLeast("--batch-syn", parse.GetValue(batchSyn) ?? 1, 1, "omit it to use all synthetic images");
            var net = Nets.NetRegistry.Get(parse.GetValue(arch)!).Name;
            var report = DistillBench.Run(methods, shapes, parse.GetValue(ipc), parse.GetValue(synSteps), parse.GetValue(iterations), net,
                Cli.Log, parse.GetValue(batchSyn));
            Save(report, parse.GetValue(output));
            return 0;
        }));
        return command;
    }

    private static Option<string> Arch() =>
        new("--arch") { Description = "Network to time (as `experts --arch`)", DefaultValueFactory = _ => DistillMethods.DefaultArch };

    /// <summary>How to start this CLI again: the apphost itself, or `dotnet Mim4dd.Cli.dll` when run through dotnet.</summary>
    private static string[] SelfCommand()
    {
        var process = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, typeof(BenchCommand).Assembly.Location]
            : [process];
    }
}
