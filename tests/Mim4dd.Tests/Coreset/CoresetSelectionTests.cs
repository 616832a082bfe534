using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Coreset;

public class CoresetSelectionTests
{
    [Fact]
    public void Herding_PicksTheGreedyMeanMatchingOrder_OnAHandMadeCase()
    {
        // 1-D features 0, 10, 4, 6, 5.2: mean 5.04. Step 1 takes 5.2 (closest to the mean); step 2 wants
        // (5.2 + f)/2 ≈ 5.04 → f ≈ 4.88 → 4 (index 2); step 3 wants (9.2 + f)/3 ≈ 5.04 → f ≈ 5.92 → 6 (index 3).
        using var features = tensor(new double[] { 0, 10, 4, 6, 5.2 }).view(5, 1);
        using var order = CoresetSelection.HerdingOrder(features, 3);
        Assert.Equal(new long[] { 4, 2, 3 }, order.data<long>().ToArray());
    }

    [Fact]
    public void Herding_NeverPicksTheSameSampleTwice()
    {
        using var features = tensor(new double[] { 1, 1, 1, 1 }).view(4, 1);
        using var order = CoresetSelection.HerdingOrder(features, 4);
        Assert.Equal(4, order.data<long>().Distinct().Count());
    }

    [Fact]
    public void Random_IsClassMajorBalancedDistinctAndSeeded()
    {
        var data = TestData.Slice(TestData.Mnist.Train, 1000);
        using var a = CoresetSelection.Random(data, 5, Rng.Torch(7));
        using var b = CoresetSelection.Random(data, 5, Rng.Torch(7));
        using var c = CoresetSelection.Random(data, 5, Rng.Torch(8));
        var labels = data.Labels.index_select(0, a).data<long>().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(k => Enumerable.Repeat((long)k, 5)), labels);
        Assert.Equal(50, a.data<long>().Distinct().Count());
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
    }

    [Fact]
    public void Herding_OnRealFeatures_StaysInClass()
    {
        var data = TestData.Slice(TestData.Mnist.Train, 500);
        using var features = data.ImagesU8.view(500, -1).to_type(ScalarType.Float32);
        using var picked = CoresetSelection.Herding(data, features, 3);
        var labels = data.Labels.index_select(0, picked).data<long>().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(k => Enumerable.Repeat((long)k, 3)), labels);
    }

    [Fact]
    public void MoreImagesPerClassThanAClassHas_IsAUserError()
    {
        var data = TestData.Slice(TestData.Mnist.Train, 100);
        var e = Assert.Throws<UserError>(() => CoresetSelection.Random(data, 50, Rng.Torch(0)));
        Assert.Contains("--ipc", e.Message);
        Assert.Contains("has only", e.Message);
    }
}
