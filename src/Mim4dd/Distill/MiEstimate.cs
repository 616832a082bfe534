using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>One layer's estimate over the held-out real batches: mean and standard deviation.</summary>
public sealed record MiLayerEstimate(string Layer, double Bound, double BoundStd, double Retrieval, double RetrievalStd, double Loss);

/// <summary>
/// The MIM estimator on a fixed feature network: the lower bound on I(S;T) a saved set S carries about the real
/// training data T, per layer. Fresh heads train for a number of Adam steps, each on the set against a fresh real
/// batch (n_r per class); the bound is then read on further fresh batches the heads did not train on.
/// </summary>
public static class MiEstimate
{
    /// <param name="progress">Called after every head step with its step index and readings (the training curve).</param>
    public static IReadOnlyList<MiLayerEstimate> Run(Net net, Tensor parameters, Tensor setImages, Tensor setLabels, Dataset train,
        Tensor trainImages, MimOptions options, int headSteps, int batches, int realPerClass, int poolPerClass, long seed,
        Action<int, IReadOnlyList<MimLayerReading>>? progress = null, CancellationToken stop = default)
    {
        OptionRange.AtLeast("--steps", headSteps, 0, "pass --steps 200");
        OptionRange.AtLeast("--batches", batches, 2, "pass --batches 10");
        OptionRange.AtLeast("--batch-real", realPerClass, 1, "pass --batch-real 32");
        OptionRange.AtLeast("--pool", poolPerClass, realPerClass, $"pass --pool {Math.Max(realPerClass, DefaultPoolPerClass)}");
        var flat = FlatParameters.Unflatten(parameters, net);
        var input = new InputShape(trainImages.shape[1], trainImages.shape[2], trainImages.shape[3]);
        using var mim = new Mim(Mim.LayerShapes(net, flat, input), (options with { HeadSteps = 1 }).Estimator, Rng.Torch(seed, 900_000),
            parameters.dtype);
        var setFeatures = Features(net, flat, setImages, mim);
        // Real features are computed once for a pool per class and batches are drawn from it: a forward pass per step
        // would cost more than the heads, and its varying buffers grow the heap that TorchRuntime's mallopt keeps.
        // Two disjoint pools: the heads train on the first and the bound is read on the second, so held-out images are unseen.
        int perClass = (int)Math.Min(poolPerClass, train.ClassCounts().Min() / 2);
        using var picked = Coreset.CoresetSelection.Random(train, 2 * perClass, Rng.Torch(seed, 1_000_000));
        using var pools = picked.view(train.NumClasses, 2 * perClass);
        using var headsPool = pools.narrow(1, 0, perClass).reshape(-1);
        using var heldOutPool = pools.narrow(1, perClass, perClass).reshape(-1);
        var (trainPool, trainPoolLabels) = Pool(net, flat, train, trainImages, headsPool, mim);
        var (heldOut, heldOutLabels) = Pool(net, flat, train, trainImages, heldOutPool, mim);
        for (int step = 0; step < headSteps; step++)
        {
            stop.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (real, labels) = Draw(trainPool, trainPoolLabels, realPerClass, Rng.Torch(seed, 3_000_000 + step));
            mim.TrainHeads(setFeatures, setLabels, real, labels);
            progress?.Invoke(step, mim.Readings);
        }
        var readings = new List<IReadOnlyList<MimLayerReading>>();
        for (int b = 0; b < batches; b++)
        {
            using var scope = NewDisposeScope();
            var (real, labels) = Draw(heldOut, heldOutLabels, realPerClass, Rng.Torch(seed, 4_000_000 + b));
            using (no_grad()) mim.Loss(setFeatures, setLabels, real, labels).Dispose();
            readings.Add(mim.Readings);
        }
        foreach (var f in setFeatures.Concat(trainPool).Concat(heldOut)) f.Dispose();
        trainPoolLabels.Dispose();
        heldOutLabels.Dispose();
        return mim.Layers.Select((layer, k) =>
        {
            var bound = readings.Select(r => r[k].Bound).ToArray();
            var retrieval = readings.Select(r => r[k].Retrieval).ToArray();
            return new MiLayerEstimate(layer, bound.Average(), Std(bound), retrieval.Average(), Std(retrieval),
                readings.Average(r => r[k].Loss));
        }).ToList();
    }

    /// <summary>Real images per class in each pool (capped by half the smallest class). The heads see only the first pool,
    /// so a small one lets them fit its images rather than the classes: on CIFAR-10 (docs/results.md) a pool of 256
    /// per class gave training-batch retrieval near 1 and held-out 0.4–0.7 after 1,000 steps; 1,024 generalises better.</summary>
    public const int DefaultPoolPerClass = 1024;

    private static (IReadOnlyList<Tensor> Features, Tensor Labels) Pool(Net net, IReadOnlyList<Tensor> flat, Dataset train,
        Tensor trainImages, Tensor indices, Mim mim)
    {
        var chunks = indices.split(512).Select(chunk =>
        {
            using var images = trainImages.index_select(0, chunk);
            return Features(net, flat, images, mim);
        }).ToList();
        var features = mim.Layers.Select((_, k) => cat(chunks.Select(c => c[k]).ToList(), 0)).ToList();
        foreach (var t in chunks.SelectMany(c => c)) t.Dispose();
        return (features, train.Labels.index_select(0, indices));
    }

    /// <summary>n random pool members of every class.</summary>
    private static (IReadOnlyList<Tensor> Features, Tensor Labels) Draw(IReadOnlyList<Tensor> pool, Tensor labels, int perClass,
        Generator generator)
    {
        var chosen = Coreset.CoresetSelection.AtMostPerClass(labels, perClass, generator);
        return (pool.Select(f => f.index_select(0, chosen)).ToList(), labels.index_select(0, chosen));
    }

    private static IReadOnlyList<Tensor> Features(Net net, IReadOnlyList<Tensor> flat, Tensor images, Mim mim)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tap = new FeatureTap();
        net.Forward(flat, images, tap: tap);
        return mim.FeaturesOf(tap).Select(f => f.detach().MoveToOuterDisposeScope()).ToList();
    }

    private static double Std(double[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}
