using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Experts;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd mi SET`: the MIM lower bound on I(S;T) of a saved set against the real training data, per layer.</summary>
public static class MiCommand
{
    public static Command Create()
    {
        var target = SetArgument.Create();
        var experts = new Option<string?>("--experts")
        {
            Description = "Expert store whose first expert, at its last epoch, is the feature network "
                + "(default: the set's own store, else the one `mim4dd experts` writes for its dataset); a set in the "
                + "other space (pixels or ZCA) is moved into the store's, so one network reads every method's sets"
        };
        var steps = new Option<int>("--steps")
        { Description = "Adam steps of the fresh heads, each against a fresh real batch", DefaultValueFactory = _ => 200 };
        var batches = new Option<int>("--batches")
        { Description = "Held-out real batches the bound is read on (mean ± std over them)", DefaultValueFactory = _ => 10 };
        var batchReal = new Option<int>("--batch-real")
        { Description = "Real images per class in each batch", DefaultValueFactory = _ => MimOptions.RealPerClass };
        var pool = new Option<int>("--pool")
        {
            Description = "Real images per class in each of the two pools the batches are drawn from, "
                + "one for the heads' steps, one held out (capped by the smallest class; features of both are kept in memory)",
            DefaultValueFactory = _ => MiEstimate.DefaultPoolPerClass
        };
        var mimOptions = new MimCliOptions();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var command = new Command("mi",
            "Estimate the MIM lower bound on I(S;T), in nats per layer, of a saved set against the real training data")
        { target, experts, steps, batches, batchReal, pool, dataDir, cacheDir, seed, threads };
        mimOptions.AddTo(command, distillation: false);
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            var path = parse.GetValue(target)!;
            var options = mimOptions.Read(parse, enabled: true);
            using var set = SetArgument.Read(path, parse.GetValue(experts), out bool ours);
            using var data = DatasetCatalog.Load(set.Dataset, CacheDirectory.Resolve(parse.GetValue(cacheDir)), parse.GetValue(dataDir));
            SetArgument.RequireFits(set, data, path);
            var input = new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width);
            bool zca = set.ZcaDirectory is not null;
            var store = Path.GetFullPath(parse.GetValue(experts) ?? set.ZcaDirectory
                ?? ExpertStore.DefaultDirectory(data.Name, DistillMethods.DefaultArch, zca));
            var net = NetRegistry.Build(ExpertStore.Arch(store) ?? DistillMethods.DefaultArch, input, data.Train.NumClasses);
            var trajectories = ExpertStore.LoadAll(store, net, data.Name);
            try
            {
                bool storeZca = trajectories[0].Metadata.Zca;
                using var train = ExpertStore.PrepareImages(data, data.Train, storeZca, store, Cli.Log);
                if (storeZca != zca)
                    Cli.Log($"the set is in {(zca ? "ZCA" : "normalised pixel")} space, the experts in "
                        + $"{(storeZca ? "ZCA" : "normalised pixel")} space: the set is moved into the experts' space by way of pixels");
                using var images = set.InSpaceOf(storeZca ? store : null, data.Normalization);
                using var features = trajectories[0].Snapshot(trajectories[0].Epochs);
                Cli.Log($"feature network: expert 0 of {store} at epoch {trajectories[0].Epochs}; {parse.GetValue(steps)} head steps, "
                    + $"then {parse.GetValue(batches)} held-out batches of {parse.GetValue(batchReal)} real images per class");
                var estimate = MiEstimate.Run(net, features, images, set.Labels, data.Train, train, options,
                    parse.GetValue(steps), parse.GetValue(batches), parse.GetValue(batchReal), parse.GetValue(pool), parse.GetValue(seed),
                    (step, readings) =>
                    {
                        if ((step + 1) % 50 == 0)
                            Cli.Log($"head step {step + 1}: bound {string.Join(" ", readings.Select(r => r.Bound.ToString("F2")))} nats, "
                                + $"retrieval {string.Join(" ", readings.Select(r => r.Retrieval.ToString("F2")))}");
                    },
                    Cli.StopRequests());
                Console.WriteLine();
                Console.WriteLine($"| layer | MI lower bound, nats (mean ± std, {parse.GetValue(batches)} batches) | retrieval | loss |");
                Console.WriteLine("|---|---|---|---|");
                foreach (var e in estimate) Console.WriteLine($"| {e.Layer} | {e.Bound:F3} ± {e.BoundStd:F3} | "
                    + $"{e.Retrieval:F3} ± {e.RetrievalStd:F3} | {e.Loss:F3} |");
                Console.WriteLine($"| sum | {estimate.Sum(e => e.Bound):F3} | | |");
                if (ours && Directory.Exists(path))   // a run directory of ours, not another tool's folder
                {
                    var run = new RunDirectory(path);
                    var output = run.Mi;
                    run.WriteJson(output, new { store, steps = parse.GetValue(steps), batches = parse.GetValue(batches),
                        batchReal = parse.GetValue(batchReal), pool = parse.GetValue(pool), seed = parse.GetValue(seed), options,
                        layers = estimate, total = estimate.Sum(e => e.Bound) });
                    Cli.Log($"wrote {output}");
                }
            }
            finally
            {
                foreach (var t in trajectories) t.Dispose();
            }
            return 0;
        }));
        return command;
    }
}
