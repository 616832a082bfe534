using System.Diagnostics;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Train;

/// <summary>Trains a network on the whole real training set (the "whole dataset" upper bound and herding's feature net).</summary>
public static class FullTraining
{
    public sealed record Result(string Dataset, string Arch, int Epochs, double LearningRate, long Seed, double TestAccuracy,
        double Seconds, double[] EpochLoss);

    /// <param name="checkpoint">Saved after every epoch and continued from when present; null: neither.</param>
    public static (NetWeights Weights, Result Result) Run(DataSplit data, string arch, TrainOptions options, long seed,
        IAugment? augment, Action<string> log, TrainCheckpoint? checkpoint = null)
    {
        var input = new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width);
        var net = NetRegistry.Build(arch, input, data.Train.NumClasses);
        using var images = data.Train.Floats(data.Normalization);
        using var testImages = data.Test.Floats(data.Normalization);
        var weights = net.Initialize(Rng.Torch(seed, 1));
        using var generator = Rng.Torch(seed, 2);
        using var sgd = new SgdState(weights.Parameters.Count);
        var losses = new List<double>();
        double secondsBefore = 0;
        if (checkpoint?.TryContinue(weights, sgd, generator) is var (saved, seconds))
        {
            (losses, secondsBefore) = (saved, seconds);
            log($"continuing after epoch {sgd.EpochsDone} of {options.Epochs} ({checkpoint.Path})");
        }
        var clock = Stopwatch.StartNew();
        int first = sgd.EpochsDone;
        Trainer.Train(net, weights, images, data.Train.Labels, options, generator, augment, (epoch, loss) =>
        {
            losses.Add(loss);
            checkpoint?.Save(weights, sgd, generator, losses, secondsBefore + clock.Elapsed.TotalSeconds);
            log($"epoch {epoch + 1}/{options.Epochs}  loss {loss:F4}  {clock.Elapsed.TotalMinutes:F1} min  "
                + $"{Eta.Text(epoch + 1 - first, options.Epochs - first, clock.Elapsed)}");
        }, $"training {arch}", sgd);
        var accuracy = Trainer.Accuracy(net, weights, testImages, data.Test.Labels);
        double total = secondsBefore + clock.Elapsed.TotalSeconds;
        log($"test accuracy {100 * accuracy:F2} %  ({total / 60:F1} min)");
        return (weights, new Result(data.Name, arch, options.Epochs, options.LearningRate, seed, accuracy, total, losses.ToArray()));
    }

    /// <summary>Embeddings [N, D] of all images of a dataset in eval mode.</summary>
    public static Tensor Embed(Net net, NetWeights weights, Dataset data, Normalization norm, int batchSize = 500)
    {
        using var noGrad = no_grad();
        var chunks = new List<Tensor>();
        for (long start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            using var idx = Scalars.Arange(start, Math.Min(start + batchSize, data.Count));
            chunks.Add(net.Embed(weights.Parameters, data.Floats(norm, idx), false, weights.Buffers).MoveToOuterDisposeScope());
        }
        var all = cat(chunks, 0);
        foreach (var c in chunks) c.Dispose();
        return all;
    }

    /// <summary>Embeddings [N, D] of images already in the network's input space, in eval mode,
    /// <paramref name="batchSize"/> at a time.</summary>
    public static Tensor Embed(Net net, NetWeights weights, Tensor images, int batchSize = 500)
    {
        using var noGrad = no_grad();
        return cat(images.split(batchSize).Select(batch => net.Embed(weights.Parameters, batch, false, weights.Buffers)).ToList(), 0);
    }

    /// <summary>Saves/loads trained weights as safetensors keyed by the PyTorch parameter names.</summary>
    public static void Save(string path, Net net, NetWeights weights) => SafeTensors.Save(path,
        net.Parameters.Select((s, i) => (s.Name, weights.Parameters[i]))
            .Concat(net.Buffers.Select((s, i) => (s.Name, weights.Buffers[i])))
            .ToDictionary(p => p.Name, p => p.Item2));

    public static NetWeights Load(string path, Net net)
    {
        var (tensors, _) = SafeTensors.Load(path);
        Tensor Take(TensorSpec spec) =>
            tensors.TryGetValue(spec.Name, out var t) && t.shape.SequenceEqual(spec.Shape) ? t
                : throw UserError.At(path, $"no tensor {spec.Name} of shape [{string.Join(", ", spec.Shape)}] for {net.Name}",
                    "delete the file to retrain it");
        return new NetWeights(net.Parameters.Select(Take).ToList(), net.Buffers.Select(Take).ToList());
    }
}
