using System.Text.Json;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// The report's t-SNE (the paper's visualisation): embeddings of the synthetic images and of up to
/// <see cref="RealPerClass"/> real test images per class, taken by one network trained on the synthetic set
/// (the first network of the final evaluation), mapped to 2-D together and written as tsne.json. Exact t-SNE is
/// O(n²) in memory and in each of its 1,000 steps, so each side is capped at <see cref="PointsPerSide"/> points,
/// spread evenly over the classes (CIFAR-100 at IPC 10: 5 synthetic and 5 real images per class); the map says what it drew.
/// </summary>
public static class FeatureMap
{
    public const string FileName = "tsne.json";
    public const int RealPerClass = 50;
    public const int PointsPerSide = 500;
    public const double Perplexity = 30;

    public sealed record Point(double X, double Y, int Label, bool Synthetic);

    /// <param name="Drawn">Which images the points are, in words (null in maps written before the cap).</param>
    public sealed record Map(string Network, double Perplexity, IReadOnlyList<string> ClassNames, IReadOnlyList<Point> Points,
        string? Drawn = null);

    public static void Write(string directory, Net net, NetWeights weights, Tensor synImages, Tensor synLabels, Dataset test,
        Tensor testImages, long seed, int pointsPerSide = PointsPerSide)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int share = Math.Max(1, pointsPerSide / test.NumClasses);
        int perClass = (int)Math.Min(Math.Min(RealPerClass, share), test.ClassCounts().Min());
        var indices = CoresetSelection.Random(test, perClass, Rng.Torch(seed, 1));
        var real = testImages.index_select(0, indices);
        var shown = FirstPerClass(synLabels, share);
        var syn = synImages.index_select(0, shown);
        var features = cat(new[] { FullTraining.Embed(net, weights, syn), FullTraining.Embed(net, weights, real) }, 0);
        var xy = Tsne.Embed(features, Rng.Torch(seed, 2), Perplexity).to_type(ScalarType.Float64).data<double>().ToArray();
        var labels = cat(new[] { synLabels.index_select(0, shown), test.Labels.index_select(0, indices) }, 0).data<long>().ToArray();
        long synthetic = shown.shape[0];
        var points = labels.Select((label, i) => new Point(xy[2 * i], xy[2 * i + 1], (int)label, i < synthetic)).ToList();
        string drawn = (synthetic == synImages.shape[0] ? $"all {synthetic} synthetic images"
                : $"{synthetic} of the {synImages.shape[0]} synthetic images (the first {share} of each class)")
            + $" and {perClass} random real test images per class";
        var map = new Map($"{net.Name} trained on the synthetic set (the first evaluation network)",
            Perplexity, test.ClassNames, points, drawn);
        AtomicFile.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(map));
    }

    /// <summary>The indices of the first <paramref name="count"/> images of each class, in set order.</summary>
    private static Tensor FirstPerClass(Tensor labels, int count)
    {
        var seen = new Dictionary<long, int>();
        var keep = labels.data<long>().ToArray().Select((label, i) => (label, i))
            .Where(p => (seen[p.label] = seen.GetValueOrDefault(p.label) + 1) <= count).Select(p => (long)p.i).ToArray();
        return tensor(keep);
    }

    public static Map? Read(string directory)
    {
        var file = Path.Combine(directory, FileName);
        return File.Exists(file) ? JsonSerializer.Deserialize<Map>(File.ReadAllText(file)) : null;
    }
}
