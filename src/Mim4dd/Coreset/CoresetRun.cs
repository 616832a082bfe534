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

    public sealed record Result(Config Config, long[] Indices, double[] Accuracies, double Mean, double Std, double EvalSeconds,
        double TotalSeconds);

    public static readonly string[] Methods = ["random", "herding"];

    /// <param name="stop">Ends the evaluation within one epoch by <see cref="RunStoppedException"/>; the finished nets are kept.</param>
    public static Result Run(DataSplit data, Config config, RunDirectory run, string cacheDir, Action<string> log,
        CancellationToken stop = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!Methods.Contains(config.Method))
            throw UserError.At($"--method {config.Method}", "unknown coreset method", $"use one of: {string.Join(", ", Methods)}");
        CoresetSelection.CheckImagesPerClass(data.Train, config.ImagesPerClass);
        var nets = RepeatLog(run, config);
        var finished = nets.Read(config.Repeats);
        if (finished.Count > 0)
            log($"resuming: {finished.Count} of {config.Repeats} evaluation nets already finished ({run.Repeats}); training the rest");
        run.WriteJson(run.Config, config);
        using var indices = config.Method == "random"
            ? CoresetSelection.Random(data.Train, config.ImagesPerClass, Rng.Torch(config.Seed, 10))
            : SelectByHerding(data, config, cacheDir, log);
        using var images = data.Train.Floats(data.Normalization, indices);
        using var labels = data.Train.Labels.index_select(0, indices);
        using (var set = new SyntheticSet(images.alias(), labels.alias(), data.Name, EvalProtocol.DefaultLearningRate))
            set.Save(run.Synthetic, data.Normalization);
        log($"{config.Method}: {indices.shape[0]} images selected; evaluating {config.Repeats}× {config.Arch} "
            + $"for {config.Epochs} epochs (augment {config.Augment}) ...");
        using var testImages = data.Test.Floats(data.Normalization);
        var protocol = new EvalProtocol { Repeats = config.Repeats, Epochs = config.Epochs,
            Augment = Augment.Augmentations.Create(config.Augment, data.Name) };
        var eval = nets.Evaluate(protocol, finished, config.Arch, images, labels,
            testImages, data.Test.Labels, data.Train.NumClasses, config.Seed,
            (r, net, loss, eta) => log($"  eval {r + 1}/{config.Repeats}: {100 * net.Accuracy:F2} % (final training loss {loss:F3}, "
                + $"{clock.Elapsed.TotalMinutes:F1} min, {eta})"),
            () => $"during the evaluation; its finished nets are kept in {run.Repeats} — run the same command to continue", stop: stop);
        var result = new Result(config, indices.data<long>().ToArray(), eval.Accuracies, eval.Mean, eval.Std, eval.Seconds,
            clock.Elapsed.TotalSeconds);
        run.WriteJson(run.Results, result);
        log($"{config.Method} {config.Dataset} ipc {config.ImagesPerClass}: {eval}  ({clock.Elapsed.TotalMinutes:F1} min)");
        return result;
    }

    /// <summary>
    /// The log of evaluation nets a killed run with the same config already finished (each net has its own seeds, so they
    /// are kept, not retrained). Another config, not another version/machine only, starts it afresh.
    /// </summary>
    private static FinishedNets RepeatLog(RunDirectory run, Config config)
    {
        Config? previous = null;
        try { previous = File.Exists(run.Config) ? JsonSerializer.Deserialize<Config>(File.ReadAllText(run.Config)) : null; }
        catch (Exception e) when (e is JsonException or IOException) { }
        if (previous is null || previous with { Version = "", Machine = "" } != config with { Version = "", Machine = "" })
            File.Delete(run.Repeats);
        return new FinishedNets(run.Repeats);
    }

    /// <summary>Herding on the embeddings of a ConvNet trained on the real data (trained once, cached per dataset/seed/epochs).</summary>
    private static Tensor SelectByHerding(DataSplit data, Config config, string cacheDir, Action<string> log)
    {
        var input = new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width);
        var net = NetRegistry.Build(config.FeatureArch, input, data.Train.NumClasses);
        var path = Path.Combine(cacheDir, "feature-nets",
            $"{data.Name}-{config.FeatureArch}-e{config.FeatureEpochs}-s{config.Seed}.safetensors");
        NetWeights weights;
        if (File.Exists(path)) weights = FullTraining.Load(path, net);
        else
        {
            log($"herding: training the feature net ({config.FeatureArch}, {config.FeatureEpochs} epoch(s) "
                + $"on all {data.Train.Count} training images) ...");
            var options = new TrainOptions { Epochs = config.FeatureEpochs, DecayAfterEpoch = -1 };
            (weights, _) = FullTraining.Run(data, config.FeatureArch, options, config.Seed, null, log);
            FullTraining.Save(path, net, weights);
        }
        using (weights)
        using (var features = FullTraining.Embed(net, weights, data.Train, data.Normalization))
            return CoresetSelection.Herding(data.Train, features, config.ImagesPerClass);
    }
}
