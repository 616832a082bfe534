using Mim4dd.Augment;
using Mim4dd.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Augment;

/// <summary>The DC paper's per-image crop/scale/rotate, on cases small enough to know the answer.</summary>
public class DcAugmentTests
{
    private static Tensor Grid(long height, long width) =>
        arange(1, height * width + 1, ScalarType.Float32).view(1, 1, height, width);

    private static Tensor Scales(params double[] values) => tensor(values, ScalarType.Float64);

    [Fact]
    public void ScaleOneIsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var x = Grid(5, 5);
        Assert.True(DcAugment.NearestScale(x, Scales(1.0), Scales(1.0)).equal(x).all().item<bool>());
    }

    [Fact]
    public void ShrinkingPlacesTheNearestSamplesInTheCentreOfAZeroCanvas()
    {
        using var scope = NewDisposeScope();
        // 4×4 → 2×2 keeps source rows/columns 0 and 2 and centres them at rows/columns 1..2.
        var result = DcAugment.NearestScale(Grid(4, 4), Scales(0.5), Scales(0.5));
        var expected = tensor(new float[] { 0, 0, 0, 0, 0, 1, 3, 0, 0, 9, 11, 0, 0, 0, 0, 0 }).view(1, 1, 4, 4);
        Assert.True(result.equal(expected).all().item<bool>(), string.Join(",", result.flatten().data<float>().ToArray()));
    }

    [Fact]
    public void GrowingCutsTheCentreOfTheEnlargedImage()
    {
        using var scope = NewDisposeScope();
        // 4×4 → 8 rows × 4 columns: rows 0..7 sample source rows 0,0,1,1,2,2,3,3; the centred cut keeps rows 2..5.
        var result = DcAugment.NearestScale(Grid(4, 4), Scales(2.0), Scales(1.0));
        var expected = tensor(new float[] { 5, 6, 7, 8, 5, 6, 7, 8, 9, 10, 11, 12, 9, 10, 11, 12 }).view(1, 1, 4, 4);
        Assert.True(result.equal(expected).all().item<bool>(), string.Join(",", result.flatten().data<float>().ToArray()));
    }

    [Fact]
    public void ConstantImagesStayConstantExceptForTheScaleCanvas()
    {
        using var scope = NewDisposeScope();
        // Crop and rotate fill with the batch mean, so a constant batch stays constant; only a shrinking
        // scale shows the zero canvas. Over 300 images every operation is drawn many times.
        var x = full(300, 1, 28, 28, 0.7f);
        var result = new DcAugment().Apply(x, Rng.Torch(3));
        var isConstant = result.sub(0.7f).abs().lt(1e-5f);
        var isZero = result.eq(0);
        Assert.True(isConstant.logical_or(isZero).all().item<bool>(), "every pixel is the constant or canvas zero");
        long imagesWithCanvas = isZero.flatten(1).any(1).sum().item<long>();
        Assert.InRange(imagesWithCanvas, 30, 150);   // expected ≈ 300 · 1/3 · P(a side < 28) ≈ 75
    }

    [Fact]
    public void TheSameGeneratorSeedGivesTheSameBatch()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 16, 1, 28, 28 }, generator: Rng.Torch(1));
        var a = new DcAugment().Apply(x, Rng.Torch(5));
        var b = new DcAugment().Apply(x, Rng.Torch(5));
        var c = new DcAugment().Apply(x, Rng.Torch(6));
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
        Assert.False(a.equal(x).all().item<bool>());
    }
}
