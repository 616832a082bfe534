using Mim4dd.Runtime;
using System.CommandLine;
using Mim4dd.IO;
using Mim4dd.Train;

namespace Mim4dd.Cli.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var dataset = Cli.Dataset();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var outDir = Cli.Out();
        var arch = new Option<string>("--arch") { Description = "Network (see NetRegistry names)", DefaultValueFactory = _ => "ConvNet" };
        var epochs = new Option<int>("--epochs")
        { Description = "Training epochs; lr ×0.1 after half of them", DefaultValueFactory = _ => 6 };
        var lr = new Option<double>("--lr")
        { Description = "SGD learning rate (momentum 0.9, weight decay 5e-4)", DefaultValueFactory = _ => 0.01 };
        var augment = Cli.Augment("none");
        var batch = new Option<int>("--batch") { Description = "Minibatch size", DefaultValueFactory = _ => 256 };
        var command = new Command("train", "Train a network on the whole real training set and test it (the 'whole dataset' row)")
        { dataset, dataDir, cacheDir, arch, epochs, lr, batch, augment, seed, threads, outDir };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            int e = parse.GetValue(epochs);
            double rate = parse.GetValue(lr);
            int b = parse.GetValue(batch);
            OptionRange.AtLeast("--epochs", e, 1, "pass e.g. --epochs 6");
            OptionRange.Positive("--lr", rate, "pass e.g. --lr 0.01");
            OptionRange.AtLeast("--batch", b, 1, "pass e.g. --batch 256");
            var run = new RunDirectory(parse.GetValue(outDir)
                ?? $"runs/train-{parse.GetValue(dataset)}-{parse.GetValue(arch)}-s{parse.GetValue(seed)}").Claim();
            using var data = Cli.LoadData(parse, dataset, cacheDir, dataDir);
            var options = new TrainOptions { Epochs = e, LearningRate = rate, BatchSize = b, DecayAfterEpoch = e / 2 - 1 };
            Cli.Log($"training {parse.GetValue(arch)} on {data.Train.Count} images for {e} epochs; run directory {run.Path}");
            var (weights, result) = FullTraining.Run(data, parse.GetValue(arch)!, options, parse.GetValue(seed),
                Augment.Augmentations.Create(parse.GetValue(augment)!, data.Name), line =>
            {
                Cli.Log(line);
                run.AppendLog(line);
            });
            weights.Dispose();
            run.WriteJson(run.Results, new { result, machine = Runtime.MachineInfo.Current() });
            return 0;
        }));
        return command;
    }
}
