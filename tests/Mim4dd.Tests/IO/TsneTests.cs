using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.IO;

public class TsneTests
{
    /// <summary>Three Gaussian clusters in 20-D, 40 points each, centres 10 apart (unit noise): labels 0, 1, 2.</summary>
    private static (Tensor Points, long[] Labels) Clusters()
    {
        var generator = Rng.Torch(3);
        var centres = randn(new long[] { 3, 20 }, ScalarType.Float64, generator: generator).mul_(10 / Math.Sqrt(2 * 20));
        var labels = Enumerable.Range(0, 120).Select(i => (long)(i / 40)).ToArray();
        var points = centres.index_select(0, tensor(labels))
            + randn(new long[] { 120, 20 }, ScalarType.Float64, generator: generator) * 0.3;
        return (points, labels);
    }

    [Theory]
    [InlineData(5.0)]
    [InlineData(30.0)]
    public void EveryRowOfTheConditionalAffinities_HasThePerplexityAsked(double perplexity)
    {
        var (points, _) = Clusters();
        using var rows = Tsne.ConditionalAffinities(points, perplexity);
        using var entropy = -(rows * rows.clamp_min(1e-300).log()).sum(1);
        Assert.True(rows.diagonal().abs().max().item<double>() == 0, "no point is its own neighbour");
        Assert.True((rows.sum(1) - 1).abs().max().item<double>() < 1e-12, "rows sum to one");
        Assert.True((entropy - Math.Log(perplexity)).abs().max().item<double>() < 1e-6,
            $"entropy {entropy.min().item<double>()}..{entropy.max().item<double>()} vs ln {perplexity}");
    }

    [Fact]
    public void JointAffinities_AreSymmetricAndSumToOne()
    {
        var (points, _) = Clusters();
        using var p = Tsne.JointAffinities(points, 30);
        Assert.True((p - p.t()).abs().max().item<double>() == 0);
        Assert.Equal(1.0, p.sum().item<double>(), 6);
    }

    [Fact]
    public void SeparatedClusters_StaySeparatedInTheMap()
    {
        var (points, labels) = Clusters();
        using var map = Tsne.Embed(points, Rng.Torch(4), perplexity: 20);
        Assert.Equal(new long[] { 120, 2 }, map.shape);
        Assert.True(map.isfinite().all().item<bool>());
        // The nearest neighbour in the map shares the label (t-SNE may strand a point or two between clusters).
        using var squared = map.pow(2).sum(1, keepdim: true);
        using var distances = squared + squared.t() - 2 * map.mm(map.t()) + eye(120, dtype: ScalarType.Float64) * 1e12;
        var nearest = distances.argmin(1).data<long>().ToArray();
        int agree = Enumerable.Range(0, 120).Count(i => labels[i] == labels[nearest[i]]);
        Assert.True(agree >= 117, $"{agree} of 120 nearest neighbours share the label");
    }

    [Fact]
    public void SameGenerator_GivesTheSameMap()
    {
        var (points, _) = Clusters();
        using var a = Tsne.Embed(points, Rng.Torch(4), iterations: 50);
        using var b = Tsne.Embed(points, Rng.Torch(4), iterations: 50);
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Fact]
    public void MemoryStaysAtAFewMatrices_NotOnePerStep()
    {
        // 1,500 points: one n × n float64 matrix is 18 MB; keeping every step's ~20 of them for 40 steps would need
        // ~14 GB (this once killed a run's final evaluation). The working set never shrinks (mallopt), so it shows the peak.
        using var points = randn(new long[] { 1500, 16 }, ScalarType.Float64, generator: Rng.Torch(5));
        long before = Environment.WorkingSet;
        using var map = Tsne.Embed(points, Rng.Torch(6), iterations: 40);
        long grown = (Environment.WorkingSet - before) >> 20;
        Assert.True(grown < 1500, $"the working set grew by {grown} MB");
    }

    [Fact]
    public void TooFewOrTooManyPoints_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Tsne.Embed(zeros(3, 2), Rng.Torch(1)));
        Assert.Throws<ArgumentException>(() => Tsne.Embed(zeros(Tsne.MaxPoints + 1, 2), Rng.Torch(1)));
    }
}
