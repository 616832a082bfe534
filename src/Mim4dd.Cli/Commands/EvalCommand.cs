using System.Text.Json;
using Mim4dd.Runtime;
using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Train;
using Mim4dd.Experts;
using Mim4dd.Coreset;

namespace Mim4dd.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var target = SetArgument.Create();
        var experts = new Option<string?>("--experts")
        {
            Description = "For another tool's set: the expert store whose dataset and space (ZCA or normalised pixels) it is in",
        };
        var arch = new Option<string>("--arch")
        {
            Description = "Comma-separated evaluation networks",
            DefaultValueFactory = _ => "ConvNet",
        };
        var repeats = new Option<int>("--repeats") { Description = "Evaluation networks per architecture", DefaultValueFactory = _ => 5 };
        var epochs = new Option<int>("--epochs")
        {
            Description = "Evaluation epochs E (E+1 passes, lr decay after E/2+1); the papers: 1000 with augmentation, 300 without",
            DefaultValueFactory = _ => 1000,
        };
        var lr = new Option<double?>("--lr")
        {
            Description = "Training lr of the evaluation networks (default: the set's own, e.g. MTT's learned lr; 0.01 for coresets)",
        };
        var augment = Cli.Augment();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var shard = new Option<string?>("--shard")
        {
            Description = "Train only nets with index % n == i, given as i/n, into a log of this shard (for array jobs: "
                + "`mim4dd slurm eval`); the same command without --shard then counts them and writes the table",
        };
        var labels = new Option<string?>("--labels")
        {
            Description = "soft or hard: train on the set's learned soft labels or on its class labels (default: soft when the set "
                + "has them; hard-label accuracy of a soft-label set is what HLR compares with full data)",
        };
        var random = new Option<bool>("--random")
        {
            Description = "Evaluate, instead of the set, a random real subset of its size, space (ZCA), lr and labels (soft ones from "
                + "the run's experts when the set has them), written to RUN/random: the baseline of `compare`'s IOR",
        };
        var command = new Command("eval", "Train fresh networks on a saved synthetic set and test them on the real test set")
        { target, arch, repeats, epochs, lr, augment, labels, random, experts, dataDir, cacheDir, seed, threads, shard };
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var path = parse.GetValue(target)!;
            OptionRange.AtLeast("--repeats", parse.GetValue(repeats), 1, "pass --repeats 5");
            OptionRange.AtLeast("--epochs", parse.GetValue(epochs), 1, "pass --epochs 300");
            Cli.Require(parse.GetValue(lr) is not { } l || (l > 0 && double.IsFinite(l)), "--lr",
                $"must be a positive number, got {parse.GetValue(lr)}", "pass e.g. --lr 0.01");
            var slice = parse.GetValue(shard) is { } text ? Shard.Parse(text) : null;
            using var loaded = SetArgument.Read(path, parse.GetValue(experts), out bool ours);
            // Only our run directories keep nets and baselines; another tool's folder is read, never written.
            var isDir = ours && Directory.Exists(path);
            var file = isDir ? new RunDirectory(path).Synthetic : path;
            Cli.Require(slice is null || isDir, "--shard", "keeps its nets in a run directory",
                "pass the set's run directory, not the file");
            Cli.Require(!parse.GetValue(random) || isDir, "--random", "writes its subset into a run directory",
                "pass the set's run directory, not the file");
            var kind = parse.GetValue(labels) ?? (loaded.SoftLabels is null ? "hard" : "soft");
            Cli.Require(kind is "soft" or "hard", $"--labels {kind}", "unknown label kind", "use soft or hard");
            Cli.Require(kind == "hard" || loaded.SoftLabels is not null, file, "has no soft labels",
                "evaluate it with hard labels (drop --labels), or distil with --soft-labels");
            var archs = parse.GetValue(arch)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var input = new Nets.InputShape(loaded.Images.shape[1], loaded.Images.shape[2], loaded.Images.shape[3]);
            foreach (var a in archs) Nets.NetRegistry.Build(a, input, 10);
            using var data = DatasetCatalog.Load(loaded.Dataset, CacheDirectory.Resolve(parse.GetValue(cacheDir)),
                parse.GetValue(dataDir));
            SetArgument.RequireFits(loaded, data, file);
            // --random: from here on, the baseline's set and directory are evaluated exactly as the set's would be (it has
            // soft labels exactly when the set has).
            using var baseline = parse.GetValue(random) ? RandomBaseline.Write(path, loaded, data, parse.GetValue(seed), Cli.Log) : null;
            if (baseline is not null) (path, file) = (Path.Combine(path, RandomBaseline.FolderName),
                new RunDirectory(Path.Combine(path, RandomBaseline.FolderName)).Synthetic);
            var set = baseline ?? loaded;
            var trainOn = kind == "soft" ? set.SoftLabels! : set.Labels;
            // A soft-label set evaluated on its hard labels is another table (eval-…-hard.json) and other nets.
            var hardOnSoft = kind == "hard" && set.SoftLabels is not null ? "-hard" : "";
            using var testImages = TestImages(data, set.ZcaDirectory);
            var protocol = new EvalProtocol
            {
                Repeats = parse.GetValue(repeats),
                Epochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(lr) ?? set.LearningRate,
                Augment = Augment.Augmentations.Create(parse.GetValue(augment)!, set.Dataset),
            };
            var results = new List<EvalResult>();
            // Shards share the directory (each writes its own log); one unsharded eval at a time owns it.
            var run = !isDir ? null : slice is null ? new RunDirectory(path).Claim() : new RunDirectory(path);
            // Only a run directory keeps finished nets; the key names the set by its bytes.
            var setHash = run is null ? ""
                : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)))[..16];
            var settings = $"e{protocol.Epochs}-lr{protocol.LearningRate:R}-{parse.GetValue(augment)}-s{parse.GetValue(seed)}{hardOnSoft}";
            var stop = Cli.StopRequests();
            foreach (var a in archs)
            {
                // Per run directory, every finished net is kept: a killed evaluation, or one asking for more nets, trains only the
                // missing ones.
                var key = $"{setHash} {a} {settings}";
                var own = slice is null ? run?.EvalNets : run!.EvalNetsOfShard(slice);
                var others = run is null ? [] : run.EvalNetsOfShards().Append(run.EvalNets).Where(f => f != own).ToList();
                var nets = new FinishedNets(own, key, others);
                var finished = nets.Read(protocol.Repeats);
                int known = finished.Count;
                if (slice is not null)
                {
                    // Another shard's nets count as done here; this process reports only its own.
                    var notMine = Enumerable.Range(0, protocol.Repeats).Where(r => !slice.Contains(r) && !finished.ContainsKey(r));
                    finished = finished.Concat(notMine.Select(r => KeyValuePair.Create(r, new FinishedNet(double.NaN, 0)))).ToDictionary();
                }
                var losses = new List<double>();
                Cli.Log($"{a}: training {protocol.Repeats - finished.Count} of {protocol.Repeats} networks "
                    + $"on {set.Images.shape[0]} images ({kind} labels) for {protocol.Epochs} epochs"
                    + (slice is null ? "" : $" (shard {slice})")
                    + (known > 0 ? $" ({known} already finished in {run!.Path})" : "") + " ...");
                var r = nets.Evaluate(protocol, finished, a, set.Images, trainOn, testImages, data.Test.Labels, data.Train.NumClasses,
                    parse.GetValue(seed),
                    (i, net, loss, eta) =>
                    {
                        losses.Add(loss);
                        Cli.Log($"  {a} {i + 1}/{protocol.Repeats}: {100 * net.Accuracy:F2} % (final training loss {loss:F3})  {eta}");
                    },
                    () => run is null
                        ? $"during the evaluation of {a}; a set file keeps no finished nets (evaluate its run directory to keep them)"
                        : $"during the evaluation of {a}; its finished nets are kept in {run.EvalNets} — "
                            + $"run the same command to continue",
                    stop: stop);
                if (slice is not null)
                {
                    Cli.Log($"{a}: shard {slice}'s nets are in {run!.EvalNetsOfShard(slice)}");
                    continue;
                }
                results.Add(r);
                Cli.Log($"{a}: {r}  ({r.Seconds / 60:F1} min)");
                // Halfway to chance (ln K): the net did not fit the set, which says more about the lr than about the set.
                if (losses.Count > 0 && !(losses.Average() < Math.Log(data.Train.NumClasses) / 2))
                    Cli.Log($"{a}: the nets did not fit the set (mean final training loss {losses.Average():F2}, "
                        + $"chance {Math.Log(data.Train.NumClasses):F2}); lr {protocol.LearningRate:G4} may be too large for {a}: "
                        + $"try --lr {(protocol.LearningRate > 0.01 ? 0.01 : protocol.LearningRate / 10):G2}");
            }
            if (slice is not null)
            {
                Cli.Log("when every shard has finished, the same command without --shard writes the table "
                    + "(training only nets still missing)");
                return 0;
            }
            Console.WriteLine();
            Console.WriteLine($"| arch | labels | accuracy % (mean ± std, {protocol.Repeats} nets) | minutes |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var r in results) Console.WriteLine($"| {r.Arch} | {kind} | {r} | {r.Seconds / 60:F1} |");
            if (run is not null)
            {
                // One file per protocol setting, so that e.g. an E = 300 cross-architecture table does not replace the E = 1000 one.
                var name = settings == $"e1000-lr{set.LearningRate:R}-dsa-s0" ? "eval.json"
                    : $"eval-e{protocol.Epochs}-lr{protocol.LearningRate:G4}-{parse.GetValue(augment)}-s{parse.GetValue(seed)}"
                        + $"{hardOnSoft}.json";
                var table = Path.Combine(run.Path, name);
                var all = EarlierResults(table).Where(e => !archs.Contains(e.Arch, StringComparer.OrdinalIgnoreCase))
                    .Concat(results).ToList();
                run.WriteJson(table, new { protocol.Repeats, protocol.Epochs, protocol.LearningRate, augment = parse.GetValue(augment),
                    seed = parse.GetValue(seed), labels = kind, results = all });
                Cli.Log($"wrote {table}" + (all.Count > results.Count
                    ? $" (with {all.Count - results.Count} earlier architecture(s) of the same protocol)" : ""));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The architectures an earlier `eval` with the same protocol wrote to <paramref name="file"/>: kept beside this
    /// run's.</summary>
    private static IEnumerable<EvalResult> EarlierResults(string file)
    {
        if (!File.Exists(file)) return [];
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            return doc.RootElement.GetProperty("results").Deserialize<EvalResult[]>() ?? [];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Cli.Log($"{file}: cannot be read ({e.Message.Split('\n')[0]}); rewriting it with this evaluation only");
            return [];
        }
    }

    /// <summary>The test set in the space the synthetic images live in: normalised, or whitened with the run's ZCA.</summary>
    private static TorchSharp.torch.Tensor TestImages(DataSplit data, string? zcaDirectory)
    {
        if (zcaDirectory is null) return data.Test.Floats(data.Normalization);
        return Experts.ExpertStore.PrepareImages(data, data.Test, zca: true, zcaDirectory, Cli.Log);
    }
}
