using System.Text.Json;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// The report's t-SNE (the paper's visualisation): embeddings of every synthetic image and of up to
/// <see cref="RealPerClass"/> real test images per class, taken by one network trained on the synthetic set
/// (the first network of the final evaluation), mapped to 2-D together and written as tsne.json.
/// </summary>
public static class FeatureMap
{
    public const string FileName = "tsne.json";
    public const int RealPerClass = 50;
    public const double Perplexity = 30;

    public sealed record Point(double X, double Y, int Label, bool Synthetic);

    public sealed record Map(string Network, double Perplexity, IReadOnlyList<string> ClassNames, IReadOnlyList<Point> Points);

    public static void Write(string directory, Net net, NetWeights weights, Tensor synImages, Tensor synLabels, Dataset test, Tensor testImages, long seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int perClass = (int)Math.Min(RealPerClass, test.ClassCounts().Min());
        var indices = CoresetSelection.Random(test, perClass, Rng.Torch(seed, 1));
        var real = testImages.index_select(0, indices);
        var features = cat(new[] { FullTraining.Embed(net, weights, synImages), FullTraining.Embed(net, weights, real) }, 0);
        var xy = Tsne.Embed(features, Rng.Torch(seed, 2), Perplexity).to_type(ScalarType.Float64).data<double>().ToArray();
        var labels = cat(new[] { synLabels, test.Labels.index_select(0, indices) }, 0).data<long>().ToArray();
        long synthetic = synImages.shape[0];
        var points = labels.Select((label, i) => new Point(xy[2 * i], xy[2 * i + 1], (int)label, i < synthetic)).ToList();
        var map = new Map($"{net.Name} trained on the synthetic set (the first evaluation network)", Perplexity, test.ClassNames, points);
        AtomicFile.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(map));
    }

    public static Map? Read(string directory)
    {
        var file = Path.Combine(directory, FileName);
        return File.Exists(file) ? JsonSerializer.Deserialize<Map>(File.ReadAllText(file)) : null;
    }
}
