using System.Diagnostics;
using System.Reflection;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>Trains one expert on the whole real training set and records its parameters after every epoch.</summary>
public static class ExpertTraining
{
    /// <summary>Save the expert part-way to <paramref name="Path"/> after an epoch once <paramref name="Every"/> has passed
    /// since the last save, and on <paramref name="Stop"/> (then stop).</summary>
    public sealed record PartialSaving(string Path, TimeSpan Every, CancellationToken Stop = default);

    // Generator streams of the run seed; offset by the expert index so experts are independent and each
    // one can be retrained alone (resume, shards) to the same bytes.
    private const long InitStream = 100_000;
    private const long TrainStream = 200_000;

    /// <param name="images">The training images prepared as training sees them (normalised, or ZCA-whitened), [N, C, H, W]
    /// in data.Train's order.</param>
    /// <param name="testImages">Prepared the same way; when given, the final test accuracy is measured and recorded.</param>
    /// <param name="saving">Where and how often to save the expert part-way, and when to stop; null: neither.</param>
    public static ExpertTrajectory Train(DataSplit data, Tensor images, string arch, ExpertOptions options, int expertIndex,
        Action<string> log, Tensor? testImages = null, PartialSaving? saving = null)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(expertIndex);
        if (images.dim() != 4 || images.shape[0] != data.Train.Count || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"images must be float32 [{data.Train.Count}, C, H, W], "
                + $"got {images.dtype} [{string.Join(", ", images.shape)}]");
        var net = NetRegistry.Build(arch, new InputShape(images.shape[1], images.shape[2], images.shape[3]), data.Train.NumClasses);
        var strategy = Dsa.StrategyFor(data.Name);
        var augment = new Dsa(strategy);
        var metadata = new ExpertMetadata(data.Name, net.Name, net.ParameterCount, options.Epochs + 1, options.LearningRate,
            options.BatchSize, options.Zca, strategy, options.Seed, expertIndex, Version, [], null);
        using var initGenerator = Rng.Torch(options.Seed, InitStream + expertIndex);
        using var trainGenerator = Rng.Torch(options.Seed, TrainStream + expertIndex);
        using var weights = net.Initialize(initGenerator);
        // Allocated once and owned by the trajectory: no per-epoch tensor has to survive a dispose scope.
        var snapshots = zeros(new long[] { options.Epochs + 1, net.ParameterCount }, ScalarType.Float32).DetachFromDisposeScope();
        try
        {
            void Record(int row)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                snapshots[row].copy_(FlatParameters.Flatten(weights.Parameters));
            }
            Record(0);
            var losses = new List<double>();
            int done = saving is null ? 0 : Continue(saving.Path, metadata, net, weights, snapshots, trainGenerator, losses, log);
            var clock = Stopwatch.StartNew();
            var lastSave = Stopwatch.StartNew();
            Trainer.Train(net, weights, images, data.Train.Labels, options.ToTrainOptions() with { Epochs = options.Epochs - done },
                trainGenerator, augment, (index, loss) =>
            {
                int epoch = done + index + 1;
                Record(epoch);
                losses.Add(loss);
                log($"expert {expertIndex}: epoch {epoch}/{options.Epochs}  loss {loss:F4}  {clock.Elapsed.TotalSeconds:F1} s  "
                    + $"{Eta.Text(index + 1, options.Epochs - done, clock.Elapsed)}");
                if (saving is null || (lastSave.Elapsed < saving.Every && !saving.Stop.IsCancellationRequested)) return;
                using (var scope = NewDisposeScope())
                using (var partial = new ExpertTrajectory(metadata with { Snapshots = epoch + 1, EpochLoss = losses.ToArray() },
                    snapshots.narrow(0, 0, epoch + 1)))
                using (var generatorState = trainGenerator.get_state())
                    PartialExpert.Save(saving.Path, partial, generatorState, weights.Buffers);
                lastSave.Restart();
                if (saving.Stop.IsCancellationRequested)
                    throw new RunStoppedException($"expert {expertIndex} after epoch {epoch} of {options.Epochs}, "
                        + $"saved in {saving.Path} — run the same command to continue it");
            }, $"expert {expertIndex}");
            // Said before the test pass: the last epoch's "done" is not the end of the expert.
            if (testImages is not null)
                log($"expert {expertIndex}: measuring test accuracy on {testImages.shape[0]} images before saving ...");
            double? accuracy = testImages is null ? null : Trainer.Accuracy(net, weights, testImages, data.Test.Labels);
            if (accuracy is { } a) log($"expert {expertIndex}: test accuracy {100 * a:F2} %");
            return new ExpertTrajectory(metadata with { EpochLoss = losses.ToArray(), TestAccuracy = accuracy }, snapshots);
        }
        catch
        {
            snapshots.Dispose();
            throw;
        }
    }

    /// <summary>Loads a saved partial expert into the training state; returns the epochs it had done (0: none usable).</summary>
    private static int Continue(string path, ExpertMetadata metadata, Net net, NetWeights weights, Tensor snapshots, Generator generator,
        List<double> losses, Action<string> log)
    {
        using var partial = PartialExpert.TryLoad(path, metadata, weights.Buffers.Count, log);
        if (partial is null) return 0;
        int done = partial.Trajectory.Epochs;
        using (no_grad())
        using (NewDisposeScope())
        {
            snapshots.narrow(0, 0, done + 1).copy_(partial.Trajectory.Snapshots);
            foreach (var (parameter, saved) in weights.Parameters.Zip(FlatParameters.Unflatten(snapshots[done], net)))
                parameter.copy_(saved);
            foreach (var (buffer, saved) in weights.Buffers.Zip(partial.Buffers)) buffer.copy_(saved);
        }
        generator.set_state(partial.GeneratorState);
        losses.AddRange(partial.Trajectory.Metadata.EpochLoss);
        log($"expert {metadata.ExpertIndex}: continuing after epoch {done} of {metadata.Epochs} ({Path.GetFileName(path)})");
        return done;
    }

    internal static string Version { get; } =
        typeof(ExpertTraining).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
