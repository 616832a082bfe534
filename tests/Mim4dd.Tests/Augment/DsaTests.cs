using Mim4dd.Augment;
using Mim4dd.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Augment;

/// <summary>DSA sampling: strategies, siamese sharing, per-image parameters, ranges and gradients.</summary>
public class DsaTests
{
    private static Tensor Images(long n, long seed, long channels = 3, long size = 8) =>
        rand(new long[] { n, channels, size, size }, generator: Rng.Torch(seed));

    private static bool Same(Tensor a, Tensor b) => a.equal(b).all().item<bool>();

    [Fact]
    public void StandardStrategiesParse()
    {
        Assert.Equal(["color", "crop", "cutout", "flip", "scale", "rotate"], new Dsa(Dsa.Default).Families);
        Assert.Equal(["color", "crop", "cutout", "scale", "rotate"], new Dsa(Dsa.NoFlip).Families);
        Assert.Equal(Dsa.ValidNames, new Dsa(Dsa.Default).Families);
    }

    [Theory]
    [InlineData("color_blur")]
    [InlineData("Color")]
    [InlineData("color__crop")]
    [InlineData("crop_")]
    public void UnknownOperationIsAUserErrorListingValidNames(string strategy)
    {
        var error = Assert.Throws<UserError>(() => new Dsa(strategy));
        Assert.Contains("color, crop, cutout, flip, scale, rotate", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("none")]
    public void EmptyStrategyLeavesImagesAlone(string strategy)
    {
        using var scope = NewDisposeScope();
        var x = Images(2, 1);
        var dsa = new Dsa(strategy);
        Assert.Same(x, dsa.Apply(x, Rng.Torch(0)));
        Assert.Same(x, dsa.ApplySiamese(x, 3));
    }

    [Theory]
    [InlineData("MNIST", Dsa.NoFlip)]
    [InlineData("svhn", Dsa.NoFlip)]
    [InlineData("FashionMNIST", Dsa.Default)]
    [InlineData("fashion-mnist", Dsa.Default)]
    [InlineData("CIFAR10", Dsa.Default)]
    [InlineData("cifar100", Dsa.Default)]
    public void StrategyForDataset(string dataset, string expected) => Assert.Equal(expected, Dsa.StrategyFor(dataset));

    [Fact]
    public void SiameseSameSeedGivesSameOutput()
    {
        using var scope = NewDisposeScope();
        var dsa = new Dsa(Dsa.Default);
        var x = Images(4, 2);
        for (long seed = 0; seed < 24; seed++)
            Assert.True(Same(dsa.ApplySiamese(x, seed), dsa.ApplySiamese(x, seed)), $"seed {seed}");
    }

    [Fact]
    public void SiameseTransformDoesNotDependOnTheBatch()
    {
        using var scope = NewDisposeScope();
        var dsa = new Dsa(Dsa.Default);
        var shared = Images(1, 3);
        var batchA = cat(new[] { shared, Images(4, 4) }, 0);
        var batchB = cat(new[] { shared, Images(1, 5) }, 0);
        for (long seed = 0; seed < 24; seed++)
        {
            var a = dsa.ApplySiamese(batchA, seed);
            var b = dsa.ApplySiamese(batchB, seed);
            Assert.True(Same(a[0..1], b[0..1]), $"seed {seed}");
        }
    }

    [Fact]
    public void SiameseSharesParametersAcrossTheBatch()
    {
        using var scope = NewDisposeScope();
        var dsa = new Dsa(Dsa.Default);
        var repeated = Images(1, 6).expand(5, 3, 8, 8).contiguous();
        for (long seed = 0; seed < 24; seed++)
        {
            var result = dsa.ApplySiamese(repeated, seed);
            Assert.True(Same(result, result[0..1].expand_as(result)), $"seed {seed}");
        }
    }

    [Fact]
    public void SiameseDifferentSeedsDiffer()
    {
        using var scope = NewDisposeScope();
        var x = Images(2, 7);
        // Continuous parameters: any two seeds give different transforms.
        foreach (var strategy in new[] { "color", "scale", "rotate" })
        {
            var dsa = new Dsa(strategy);
            for (long seed = 0; seed < 8; seed++)
                Assert.False(Same(dsa.ApplySiamese(x, seed), dsa.ApplySiamese(x, seed + 1)), $"{strategy} seed {seed}");
        }
        var all = new Dsa(Dsa.Default);
        int differing = Enumerable.Range(0, 20).Count(seed => !Same(all.ApplySiamese(x, seed), all.ApplySiamese(x, seed + 100)));
        Assert.True(differing >= 17, $"only {differing} of 20 seed pairs differ");
    }

    [Fact]
    public void FamilyIsDrawnUniformly()
    {
        using var scope = NewDisposeScope();
        var dsa = new Dsa(Dsa.Default);
        var counts = Enumerable.Range(0, 1200)
            .Select(seed => { using var generator = Rng.Torch(seed); return dsa.DrawFamily(generator); })
            .GroupBy(name => name).ToDictionary(group => group.Key, group => group.Count());
        Assert.Equal(6, counts.Count);
        foreach (var (name, count) in counts) Assert.InRange(count, 140, 260);
    }

    [Fact]
    public void NonSiameseParametersDifferPerImage()
    {
        using var scope = NewDisposeScope();
        var repeated = Images(1, 9).expand(6, 3, 8, 8).contiguous();
        foreach (var strategy in new[] { "color", "scale", "rotate" })
        {
            var result = new Dsa(strategy).Apply(repeated, Rng.Torch(10));
            for (int i = 1; i < 6; i++)
                Assert.False(Same(result[0..1], result[i..(i + 1)]), $"{strategy}: image {i} matches image 0");
        }
    }

    [Fact]
    public void NonSiameseIsReproducibleFromTheGenerator()
    {
        using var scope = NewDisposeScope();
        var x = Images(4, 11);
        var dsa = new Dsa(Dsa.Default);
        var first = Rng.Torch(12);
        var second = Rng.Torch(12);
        for (int call = 0; call < 12; call++)
            Assert.True(Same(dsa.Apply(x, first), dsa.Apply(x, second)), $"call {call}");
    }

    [Fact]
    public void CropShiftsByAtMostAnEighth()
    {
        using var scope = NewDisposeScope();
        var zeroCount = (1 - new Dsa("crop").Apply(ones(256, 1, 32, 32), Rng.Torch(13))).sum(new long[] { 1, 2, 3 });
        // Shift 4 on both axes leaves 28×28 of 32×32.
        Assert.Equal(32 * 32 - 28 * 28, zeroCount.max().item<float>());
        Assert.Equal(0, zeroCount.min().item<float>());
    }

    [Fact]
    public void CutoutSquareIsHalfTheSide()
    {
        using var scope = NewDisposeScope();
        var cut = new Dsa("cutout").Apply(ones(256, 1, 32, 32), Rng.Torch(14)).eq(0).squeeze(1);
        var rows = cut.any(2).sum(1);
        var columns = cut.any(1).sum(1);
        // A 16×16 square, clipped to at least half of it on each axis at the borders.
        Assert.True(cut.sum(new long[] { 1, 2 }).equal(rows * columns).all().item<bool>(), "the cut is not a rectangle");
        foreach (var side in new[] { rows, columns })
        {
            Assert.Equal(16, side.max().item<long>());
            Assert.Equal(8, side.min().item<long>());
        }
    }

    [Fact]
    public void FlipHappensToAboutHalf()
    {
        using var scope = NewDisposeScope();
        var x = Images(400, 15, 1, 4);
        var flipped = new Dsa("flip").Apply(x, Rng.Torch(16)).equal(x.flip(3)).flatten(1).all(1);
        long count = flipped.sum().item<long>();
        Assert.InRange(count, 160, 240);
    }

    [Theory]
    [InlineData("color")]
    [InlineData("crop")]
    [InlineData("cutout")]
    [InlineData("flip")]
    [InlineData("scale")]
    [InlineData("rotate")]
    public void GradientFlowsToTheImages(string strategy)
    {
        using var scope = NewDisposeScope();
        var dsa = new Dsa(strategy);
        foreach (var siamese in new[] { false, true })
        {
            var x = Images(3, 17).requires_grad_();
            var output = siamese ? dsa.ApplySiamese(x, 18) : dsa.Apply(x, Rng.Torch(18));
            (output * Images(3, 19)).sum().backward();
            Assert.NotNull(x.grad);
            Assert.True(x.grad.isfinite().all().item<bool>(), $"{strategy} siamese={siamese}");
            Assert.True(x.grad.abs().sum().item<float>() > 0, $"{strategy} siamese={siamese}");
        }
    }
}
