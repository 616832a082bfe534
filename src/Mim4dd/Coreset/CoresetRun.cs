using System.Text.Json;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Coreset;

/// <summary>Select a coreset, evaluate it with the protocol and record everything in a run directory.</summary>
public static class CoresetRun
{
    public sealed record Config(string Method, string Dataset, int ImagesPerClass, string Arch, int Repeats, int Epochs, string Augment,
        long Seed, string FeatureArch, int FeatureEpochs, string Version, string Machine);

    public sealed record Result(Config Config, long[] Indices, double[] Accuracies, double Mean, double Std, double EvalSeconds, double TotalSeconds);

    public static readonly string[] Methods = ["random", "herding"];

    public static Result Run(DataSplit data, Config config, RunDirectory run, string cacheDir, Action<string> log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!Methods.Contains(config.Method))
            throw UserError.At($"--method {config.Method}", "unknown coreset method", $"use one of: {string.Join(", ", Methods)}");
        CoresetSelection.CheckImagesPerClass(data.Train, config.ImagesPerClass);
        var finished = FinishedRepeats(run, config, log);
        run.WriteJson(run.Config, config);
        using var indices = config.Method == "random"
            ? CoresetSelection.Random(data.Train, config.ImagesPerClass, Rng.Torch(config.Seed, 10))
            : SelectByHerding(data, config, cacheDir, log);
        using var images = data.Train.Floats(data.Normalization, indices);
        using var labels = data.Train.Labels.index_select(0, indices);
        using (var set = new SyntheticSet(images.alias(), labels.alias(), data.Name, EvalProtocol.DefaultLearningRate)) set.Save(run.Synthetic, data.Normalization);
        log($"{config.Method}: {indices.shape[0]} images selected; evaluating {config.Repeats}× {config.Arch} for {config.Epochs} epochs (augment {config.Augment}) ...");
        using var testImages = data.Test.Floats(data.Normalization);
        var protocol = new EvalProtocol { Repeats = config.Repeats, Epochs = config.Epochs, Augment = Augment.Augmentations.Create(config.Augment, data.Name) };
        var eval = protocol.Run(config.Arch, images, labels, testImages, data.Test.Labels, data.Train.NumClasses, config.Seed,
            (r, acc) =>
            {
                File.AppendAllText(run.Repeats, JsonSerializer.Serialize(new FinishedRepeat(r, acc)) + "\n");
                int trained = r + 1 - finished.Keys.Count(k => k < r);
                log($"  eval {r + 1}/{config.Repeats}: {100 * acc:F2} %  ({clock.Elapsed.TotalMinutes:F1} min, {Eta.Text(trained, config.Repeats - finished.Count, clock.Elapsed)})");
            }, finished: finished);
        var result = new Result(config, indices.data<long>().ToArray(), eval.Accuracies, eval.Mean, eval.Std, eval.Seconds, clock.Elapsed.TotalSeconds);
        run.WriteJson(run.Results, result);
        log($"{config.Method} {config.Dataset} ipc {config.ImagesPerClass}: {eval}  ({clock.Elapsed.TotalMinutes:F1} min)");
        return result;
    }

    private sealed record FinishedRepeat(int Repeat, double Accuracy);

    /// <summary>
    /// Evaluation nets a killed run with the same config already finished (each net has its own seeds, so they are
    /// kept, not retrained). Another config, or another version/machine only, decides: the config starts afresh.
    /// </summary>
    private static Dictionary<int, double> FinishedRepeats(RunDirectory run, Config config, Action<string> log)
    {
        var finished = new Dictionary<int, double>();
        if (!File.Exists(run.Repeats)) return finished;
        Config? previous = null;
        try { previous = JsonSerializer.Deserialize<Config>(File.ReadAllText(run.Config)); }
        catch (Exception e) when (e is JsonException or IOException) { }
        if (previous is null || previous with { Version = "", Machine = "" } != config with { Version = "", Machine = "" })
        {
            File.Delete(run.Repeats);
            return finished;
        }
        foreach (var line in File.ReadLines(run.Repeats))
        {
            try
            {
                if (JsonSerializer.Deserialize<FinishedRepeat>(line) is { } done && done.Repeat >= 0 && done.Repeat < config.Repeats && double.IsFinite(done.Accuracy))
                    finished[done.Repeat] = done.Accuracy;
            }
            catch (JsonException) { }   // a line cut by the kill
        }
        // Rewritten clean, so that the next net's line does not land after a cut one.
        AtomicFile.WriteAllText(run.Repeats, string.Concat(finished.Select(f => JsonSerializer.Serialize(new FinishedRepeat(f.Key, f.Value)) + "\n")));
        if (finished.Count > 0)
            log($"resuming: {finished.Count} of {config.Repeats} evaluation nets already finished ({run.Repeats}); training the rest");
        return finished;
    }

    /// <summary>Herding on the embeddings of a ConvNet trained on the real data (trained once, cached per dataset/seed/epochs).</summary>
    private static Tensor SelectByHerding(DataSplit data, Config config, string cacheDir, Action<string> log)
    {
        var input = new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width);
        var net = NetRegistry.Build(config.FeatureArch, input, data.Train.NumClasses);
        var path = Path.Combine(cacheDir, "feature-nets", $"{data.Name}-{config.FeatureArch}-e{config.FeatureEpochs}-s{config.Seed}.safetensors");
        NetWeights weights;
        if (File.Exists(path)) weights = FullTraining.Load(path, net);
        else
        {
            log($"herding: training the feature net ({config.FeatureArch}, {config.FeatureEpochs} epoch(s) on all {data.Train.Count} training images) ...");
            var options = new TrainOptions { Epochs = config.FeatureEpochs, DecayAfterEpoch = -1 };
            (weights, _) = FullTraining.Run(data, config.FeatureArch, options, config.Seed, null, log);
            FullTraining.Save(path, net, weights);
        }
        using (weights)
        using (var features = FullTraining.Embed(net, weights, data.Train, data.Normalization))
            return CoresetSelection.Herding(data.Train, features, config.ImagesPerClass);
    }
}
