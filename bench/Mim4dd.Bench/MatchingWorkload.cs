using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Bench;

/// <summary>
/// A trajectory-matching problem of real size from generated tensors (no download): ConvNet-3 (or another network), a synthetic set of
/// IPC × classes images, a generated two-epoch "expert" and 256 generated real images per class (for MIM, DM, DC, BPTT).
/// </summary>
public sealed class MatchingWorkload : IDisposable
{
    /// <summary>The data shapes a benchmark can take: name → (input, classes).</summary>
    public static readonly IReadOnlyDictionary<string, (InputShape Input, int Classes)> Shapes = new Dictionary<string, (InputShape, int)>
    {
        ["mnist"] = (new InputShape(1, 28, 28), 10),
        ["cifar10"] = (new InputShape(3, 32, 32), 10),
        ["cifar100"] = (new InputShape(3, 32, 32), 100),
    };

    public MatchingWorkload(string shape, int imagesPerClass, string arch = DistillMethods.DefaultArch)
    {
        if (!Shapes.TryGetValue(shape, out var known))
            throw UserError.At("--shape", $"unknown shape '{shape}'", $"use {string.Join(", ", Shapes.Keys)}");
        Dataset = shape;
        (Input, int classes) = known;
        Net = NetRegistry.Build(arch, Input, classes);
        using var start = Net.Initialize(Rng.Torch(0));
        var first = FlatParameters.Flatten(start.Parameters);
        // A plausible segment: the target a small random step away from the start.
        var snapshots = stack(new[] { first, first + 0.01 * randn(first.shape, generator: Rng.Torch(1)),
            first + 0.02 * randn(first.shape, generator: Rng.Torch(2)) });
        var metadata = new ExpertMetadata(Dataset, Net.Name, Net.ParameterCount, 3, 0.01, 256, false, Dsa.StrategyFor(Dataset), 0, 0,
            "bench", [], null);
        Expert = new ExpertTrajectory(metadata, snapshots.DetachFromDisposeScope());
        int n = classes * imagesPerClass, real = classes * 256;
        Images = randn(new long[] { n, Input.Channels, Input.Height, Input.Width }, generator: Rng.Torch(3)).requires_grad_();
        Labels = arange(n).remainder(classes);
        var realLabels = arange(real).remainder(classes);
        Real = new Dataset(randint(0, 256, new long[] { real, Input.Channels, Input.Height, Input.Width }, generator: Rng.Torch(4))
            .to_type(ScalarType.Byte), realLabels,
            Enumerable.Range(0, classes).Select(c => c.ToString()).ToArray());
        RealImages = Real.Floats(new Normalization(Enumerable.Repeat(0.5f, (int)Input.Channels).ToArray(),
            Enumerable.Repeat(0.25f, (int)Input.Channels).ToArray()));
    }

    public string Dataset { get; }
    public InputShape Input { get; }
    public Net Net { get; }
    public ExpertTrajectory Expert { get; }
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public Dataset Real { get; }
    public Tensor RealImages { get; }

    public Unroll Unroll(int steps, long seed) => new(Net, Expert.Snapshot(0), Expert.Snapshot(2), Images, Labels,
        tensor(0.01f), steps, (int)Images.shape[0], new Dsa(Dsa.StrategyFor(Dataset)), seed);

    /// <summary>Analytic FLOPs of one gradient evaluation through the unroll, from the forward FLOPs F per image:
    /// naive = N steps × (forward+backward 3F, kept) + backward through them all (≈ 2 × 3F);
    /// reverse = N × (3F without graph) + N × (3F with graph + double-backward ≈ 2 × 3F). First-order skips part of the
    /// double-backward (no derivative w.r.t. θ) but is credited with reverse's count, so its GFLOP/s is exact-gradient
    /// equivalent.</summary>
    /// <param name="batchSyn">Images per student step (null: all of them).</param>
    public double GigaFlops(string path, int steps, int? batchSyn = null)
    {
        double perImage = Net.ForwardFlops(Input) / 1e9 * Math.Min(batchSyn ?? Images.shape[0], Images.shape[0]);
        return path == "naive" ? steps * 9 * perImage : steps * 12 * perImage;
    }

    public void Dispose()
    {
        Expert.Dispose();
        Images.Dispose();
        Labels.Dispose();
        Real.Dispose();
        RealImages.Dispose();
    }
}
