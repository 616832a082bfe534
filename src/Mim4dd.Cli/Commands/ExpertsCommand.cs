using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Runtime;
using Mim4dd.Experts;

namespace Mim4dd.Cli.Commands;

public static class ExpertsCommand
{
    // The options' defaults are ExpertOptions' (buffer.py's defaults too, for `import`).
    private static readonly ExpertOptions Defaults = new();

    public static Command Create()
    {
        var dataset = Cli.Dataset();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var numExperts = new Option<int>("--num-experts")
        {
            Description = "Experts in the store (indices 0..N−1); a larger N later extends it",
            DefaultValueFactory = _ => Defaults.NumExperts,
        };
        var epochs = new Option<int>("--train-epochs")
        { Description = "Epochs per expert; one snapshot at init and after each", DefaultValueFactory = _ => Defaults.Epochs };
        var zca = new Option<bool?>("--zca")
        { Description = "Train on ZCA-whitened images (default: on for cifar10/cifar100, off otherwise; --zca false turns it off)" };
        var shard = new Option<string?>("--shard")
        { Description = "Train only experts with index % n == i, given as i/n (for parallel processes or array jobs)" };
        var arch = new Option<string>("--arch") { Description = "Network (see NetRegistry names)", DefaultValueFactory = _ => "ConvNet" };
        var lrTeacher = new Option<double>("--lr-teacher")
        { Description = "SGD learning rate (no momentum, no weight decay, no decay)", DefaultValueFactory = _ => Defaults.LearningRate };
        var batch = new Option<int>("--batch-train") { Description = "Minibatch size", DefaultValueFactory = _ => Defaults.BatchSize };
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var outDir = new Option<string?>("--out") { Description = "Expert store directory (default runs/experts/<dataset>-<arch>[-zca])" };
        var command = new Command("experts",
            "Train MTT expert trajectories on the real training set (resumable; --shard for parallel runs)")
        { dataset, dataDir, cacheDir, numExperts, epochs, zca, shard, arch, lrTeacher, batch, seed, threads, outDir };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var entry = DatasetCatalog.Find(parse.GetValue(dataset)!);
            var options = new ExpertOptions
            {
                NumExperts = parse.GetValue(numExperts),
                Epochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(lrTeacher),
                BatchSize = parse.GetValue(batch),
                Zca = parse.GetValue(zca) ?? ExpertOptions.ZcaByDefault(entry.Name),
                Seed = parse.GetValue(seed),
            };
            options.Validate();
            var slice = parse.GetValue(shard) is { } text ? Shard.Parse(text) : Shard.All;
            var archName = Nets.NetRegistry.Get(parse.GetValue(arch)!).Name;   // unknown names fail before data loads
            var directory = Path.GetFullPath(parse.GetValue(outDir) ?? ExpertStore.DefaultDirectory(entry.Name, archName, options.Zca));
            using var data = Cli.LoadData(parse, dataset, cacheDir, dataDir);
            Cli.Log($"{archName} experts: {options.Epochs} epochs each, lr {options.LearningRate}, batch {options.BatchSize}, "
                + $"zca {(options.Zca ? "on" : "off")}, seed {options.Seed}, shard {slice}");
            var logPath = Path.Combine(directory, "log.txt");
            var summary = ExpertStore.RunAll(data, archName, options, directory, slice, line =>
            {
                Cli.Log(line);
                File.AppendAllText(logPath, $"[{DateTime.Now:yyyy-MM-dd HH:mm:ss}] [shard {slice}] {line}{Environment.NewLine}");
            }, Cli.StopRequests());
            Cli.Log($"trained {summary.Trained.Count}, already finished {summary.Skipped.Count}; store: {directory}");
            return 0;
        }));
        command.Subcommands.Add(Import());
        return command;
    }

    /// <summary>`experts import DIR`: the reference MTT code's replay_buffer_&lt;n&gt;.pt files as an expert store.</summary>
    private static Command Import()
    {
        var source = new Argument<string>("buffers")
        {
            Description = "Folder of replay_buffer_0.pt, … as the reference buffer.py saves them",
        };
        var dataset = Cli.Dataset();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var arch = new Option<string>("--arch")
        {
            Description = "Network the buffers were trained with (the ConvNet family)",
            DefaultValueFactory = _ => "ConvNet",
        };
        var zca = new Option<bool?>("--zca")
        {
            Description = "The buffers were trained on ZCA-whitened images (default: on for cifar10/cifar100, as buffer.py --zca; "
                + "off otherwise)",
        };
        var lrTeacher = new Option<double>("--lr-teacher")
        {
            Description = "The buffers' training lr (buffer.py --lr_teacher)",
            DefaultValueFactory = _ => Defaults.LearningRate,
        };
        var batch = new Option<int>("--batch-train")
        {
            Description = "The buffers' minibatch (buffer.py --batch_train)",
            DefaultValueFactory = _ => Defaults.BatchSize,
        };
        var threads = Cli.Threads();
        var outDir = new Option<string?>("--out") { Description = "Expert store to create (default runs/experts/<dataset>-<arch>[-zca])" };
        var command = new Command("import", "Import expert trajectories saved by the reference MTT code (buffer.py) into an expert store")
        { source, dataset, dataDir, cacheDir, arch, zca, lrTeacher, batch, threads, outDir };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var entry = DatasetCatalog.Find(parse.GetValue(dataset)!);
            var archName = Nets.NetRegistry.Get(parse.GetValue(arch)!).Name;
            bool whitened = parse.GetValue(zca) ?? ExpertOptions.ZcaByDefault(entry.Name);
            OptionRange.Positive("--lr-teacher", parse.GetValue(lrTeacher), "pass the buffers' --lr_teacher, e.g. 0.01");
            OptionRange.AtLeast("--batch-train", parse.GetValue(batch), 1, "pass the buffers' --batch_train, e.g. 256");
            var store = Path.GetFullPath(parse.GetValue(outDir) ?? ExpertStore.DefaultDirectory(entry.Name, archName, whitened));
            var buffers = Path.GetFullPath(parse.GetValue(source)!);
            var files = BufferImport.Files(buffers);   // a folder without buffers fails before the data load
            using var data = Cli.LoadData(parse, dataset, cacheDir, dataDir);
            var net = Nets.NetRegistry.Build(archName, new Nets.InputShape(data.Train.Channels, data.Train.Height, data.Train.Width),
                data.Train.NumClasses);
            var metadata = new ExpertMetadata(data.Name, archName, net.ParameterCount, 0, parse.GetValue(lrTeacher), parse.GetValue(batch),
                whitened, Augment.Dsa.StrategyFor(data.Name), BufferImport.UnknownSeed, 0,
                $"imported by {MachineInfo.Current().Version}", [], null);
            int count = BufferImport.Run(files, store, net, metadata, Cli.Log);
            Cli.Log($"imported {count} experts into {store}"
                + (whitened ? "; distillation whitens the images with this store's own ZCA (zca.bin, fitted on first use)" : ""));
            return 0;
        }));
        return command;
    }
}
