using System.CommandLine;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Cli.Commands;

public static class CoresetCommand
{
    public static Command Create()
    {
        var method = new Option<string>("--method") { Description = "random or herding", DefaultValueFactory = _ => "random" };
        var dataset = Cli.Dataset();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var ipc = new Option<int>("--ipc") { Description = "Images per class (the papers use 1, 10, 50)", DefaultValueFactory = _ => 10 };
        var arch = new Option<string>("--arch") { Description = "Evaluation network", DefaultValueFactory = _ => "ConvNet" };
        var repeats = new Option<int>("--repeats")
        { Description = "Evaluation networks trained from different seeds", DefaultValueFactory = _ => 5 };
        var epochs = new Option<int>("--epochs")
        {
            Description = "Evaluation epochs E (E+1 passes, lr decay after E/2+1); the papers: 1000 with augmentation, 300 without",
            DefaultValueFactory = _ => 1000
        };
        var augment = Cli.Augment();
        var featureEpochs = new Option<int>("--feature-epochs")
        { Description = "Herding: epochs to train the ConvNet whose features are herded", DefaultValueFactory = _ => 1 };
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var outDir = Cli.Out();
        var command = new Command("coreset",
            "Select real images per class (random or herding), evaluate them with the protocol, write a run directory")
        { method, dataset, dataDir, cacheDir, ipc, arch, repeats, epochs, augment, featureEpochs, seed, threads, outDir };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var m = parse.GetValue(method)!.ToLowerInvariant();
            Cli.Require(CoresetRun.Methods.Contains(m), $"--method {m}", "unknown coreset method", "use random or herding");
            OptionRange.AtLeast("--repeats", parse.GetValue(repeats), 1, "pass --repeats 5");
            OptionRange.AtLeast("--epochs", parse.GetValue(epochs), 1, "pass --epochs 300");
            OptionRange.AtLeast("--feature-epochs", parse.GetValue(featureEpochs), 1, "pass --feature-epochs 1");
            OptionRange.AtLeast("--ipc", parse.GetValue(ipc), 1, "pass --ipc 1, 10 or 50");
            Augment.Augmentations.Create(parse.GetValue(augment)!, "mnist");
            Nets.NetRegistry.Build(parse.GetValue(arch)!, new Nets.InputShape(1, 28, 28), 10);   // unknown names fail before data loads
            var name = $"coreset-{m}-{parse.GetValue(dataset)}-ipc{parse.GetValue(ipc)}-s{parse.GetValue(seed)}";
            var run = new RunDirectory(parse.GetValue(outDir) ?? Path.Combine("runs", name)).Claim();
            using var data = Cli.LoadData(parse, dataset, cacheDir, dataDir);
            var config = new CoresetRun.Config(m, data.Name, parse.GetValue(ipc), parse.GetValue(arch)!, parse.GetValue(repeats),
                parse.GetValue(epochs), parse.GetValue(augment)!.ToLowerInvariant(), parse.GetValue(seed), "ConvNet",
                parse.GetValue(featureEpochs), MachineInfo.Current().Version, MachineInfo.Current().ToString());
            CoresetRun.Run(data, config, run, CacheDirectory.Resolve(parse.GetValue(cacheDir)), line =>
            {
                Cli.Log(line);
                run.AppendLog(line);
            }, Cli.StopRequests());
            Cli.Log($"run directory: {run.Path}");
            return 0;
        }));
        return command;
    }
}
