using Mim4dd.Runtime;
using System.CommandLine;
using System.Text.Json;
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
        var command = new Command("train",
            "Train a network on the whole real training set and test it (the 'whole dataset' row); "
            + "the same command continues a stopped run")
        { dataset, dataDir, cacheDir, arch, epochs, lr, batch, augment, seed, threads, outDir };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            int e = parse.GetValue(epochs);
            double rate = parse.GetValue(lr);
            int b = parse.GetValue(batch);
            OptionRange.AtLeast("--epochs", e, 1, "pass e.g. --epochs 6");
            OptionRange.Positive("--lr", rate, "pass e.g. --lr 0.01");
            OptionRange.AtLeast("--batch", b, 1, "pass e.g. --batch 256");
            string name = parse.GetValue(dataset)!, net = parse.GetValue(arch)!, augmentation = parse.GetValue(augment)!;
            long seedValue = parse.GetValue(seed);
            var run = new RunDirectory(parse.GetValue(outDir) ?? $"runs/train-{name}-{net}-e{e}-{augmentation}-s{seedValue}").Claim();
            // What makes two trainings the same one: a run directory continues only its own training.
            var config = new { command = "train", dataset = name, dataDir = parse.GetValue(dataDir), arch = net, epochs = e,
                lr = rate, batch = b, augment = augmentation, seed = seedValue };
            string identity = JsonSerializer.Serialize(config);
            // Checked before anything is written: a refused command leaves the folder as it was.
            if (File.Exists(run.Config) && File.ReadAllText(run.Config) != JsonSerializer.Serialize(config, RunDirectory.Json))
                throw UserError.At(run.Path, "holds a training with other options (config.json)",
                    "pass the options of that training to continue it, or another --out");
            if (File.Exists(run.Results))
            {
                if (!File.Exists(run.Config))
                    throw UserError.At(run.Path, "holds a finished training without its config.json (an older mim4dd's)",
                        "pass another --out");
                Cli.Log($"already trained: {run.Results} (pass another --out to train again)");
                return 0;
            }
            using var data = Cli.LoadData(parse, dataset, cacheDir, dataDir);
            var options = new TrainOptions { Epochs = e, LearningRate = rate, BatchSize = b, DecayAfterEpoch = e / 2 - 1 };
            var checkpoint = new TrainCheckpoint(run.Checkpoint, identity);
            run.WriteJson(run.Config, config);
            Cli.Log($"training {net} on {data.Train.Count} images for {e} epochs; run directory {run.Path}"
                + " (a checkpoint after every epoch: the same command continues a stopped training)");
            var (weights, result) = FullTraining.Run(data, net, options, seedValue,
                Augment.Augmentations.Create(augmentation, data.Name), line =>
            {
                Cli.Log(line);
                run.AppendLog(line);
            }, checkpoint);
            weights.Dispose();
            run.WriteJson(run.Results, new { result, machine = Runtime.MachineInfo.Current() });
            File.Delete(run.Checkpoint);
            return 0;
        }));
        return command;
    }
}
