using System.Diagnostics;
using System.Reflection;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>Trains one expert on the whole real training set and records its parameters after every epoch.</summary>
public static class ExpertTraining
{
    // Generator streams of the run seed; offset by the expert index so experts are independent and each
    // one can be retrained alone (resume, shards) to the same bytes.
    private const long InitStream = 100_000;
    private const long TrainStream = 200_000;

    /// <param name="images">The training images prepared as training sees them (normalised, or ZCA-whitened), [N, C, H, W] in data.Train's order.</param>
    /// <param name="testImages">Prepared the same way; when given, the final test accuracy is measured and recorded.</param>
    public static ExpertTrajectory Train(DataSplit data, Tensor images, string arch, ExpertOptions options, int expertIndex,
        Action<string> log, Tensor? testImages = null)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(expertIndex);
        if (images.dim() != 4 || images.shape[0] != data.Train.Count || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"images must be float32 [{data.Train.Count}, C, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]");
        var net = NetRegistry.Build(arch, new InputShape(images.shape[1], images.shape[2], images.shape[3]), data.Train.NumClasses);
        var strategy = Dsa.StrategyFor(data.Name);
        var augment = new Dsa(strategy);
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
            var clock = Stopwatch.StartNew();
            Trainer.Train(net, weights, images, data.Train.Labels, options.ToTrainOptions(), trainGenerator, augment, (epoch, loss) =>
            {
                Record(epoch + 1);
                losses.Add(loss);
                log($"expert {expertIndex}: epoch {epoch + 1}/{options.Epochs}  loss {loss:F4}  {clock.Elapsed.TotalSeconds:F1} s  {Eta.Text(epoch + 1, options.Epochs, clock.Elapsed)}");
            }, $"expert {expertIndex}");
            // Said before the test pass: the last epoch's "done" is not the end, and a stop now loses the whole expert.
            if (testImages is not null) log($"expert {expertIndex}: measuring test accuracy on {testImages.shape[0]} images before saving ...");
            double? accuracy = testImages is null ? null : Trainer.Accuracy(net, weights, testImages, data.Test.Labels);
            if (accuracy is { } a) log($"expert {expertIndex}: test accuracy {100 * a:F2} %");
            var metadata = new ExpertMetadata(data.Name, net.Name, net.ParameterCount, options.Epochs + 1, options.LearningRate,
                options.BatchSize, options.Zca, strategy, options.Seed, expertIndex, Version, losses.ToArray(), accuracy);
            return new ExpertTrajectory(metadata, snapshots);
        }
        catch
        {
            snapshots.Dispose();
            throw;
        }
    }

    internal static string Version { get; } =
        typeof(ExpertTraining).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
