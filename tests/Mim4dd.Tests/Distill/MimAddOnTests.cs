using System.Text.Json;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class MimAddOnTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    /// <summary>Per class, how many synthetic images the term's gradient reaches at one iteration.</summary>
    private int[] ImagesReached(int synPerClass, int iteration)
    {
        using var data = DatasetCatalog.Load("mnist", TestData.CacheDir, store.DataDir);
        var net = NetRegistry.Build(TinyMnist.Arch, new InputShape(1, 28, 28), 10);
        var experts = ExpertStore.LoadAll(store.Experts, net, "mnist");
        try
        {
            using var scope = NewDisposeScope();
            var train = data.Train.Floats(data.Normalization);
            var picked = CoresetSelection.Random(data.Train, 3, Rng.Torch(1, 1));
            var images = train.index_select(0, picked).requires_grad_();
            var labels = data.Train.Labels.index_select(0, picked);
            var options = new MimOptions { WarmupIterations = 0, SynPerClass = synPerClass };
            using var addOn = new MimAddOn(net, experts[0].Snapshot(0), data.Train, train, options, 4, 0, "mnist");
            var loss = addOn.Loss(experts[0].Snapshot(1), experts[0].Snapshot(2), images, labels, iteration);
            var grad = autograd.grad(new[] { loss }, new[] { images })[0];
            var reached = grad.abs().sum(new long[] { 1, 2, 3 }).gt(tensor(0f));
            return Enumerable.Range(0, 10).Select(c => (int)reached.masked_select(labels.eq(tensor((long)c))).sum().LongValue()).ToArray();
        }
        finally
        {
            foreach (var e in experts) e.Dispose();
        }
    }

    [Fact]
    public void TheTermContrastsAtMostSynPerClassImagesOfEachClass_DrawnAfreshEachIteration()
    {
        Assert.All(ImagesReached(synPerClass: 3, iteration: 0), n => Assert.Equal(3, n));   // the whole set
        Assert.All(ImagesReached(synPerClass: 2, iteration: 0), n => Assert.Equal(2, n));
        Assert.All(ImagesReached(synPerClass: 1, iteration: 5), n => Assert.Equal(1, n));
    }

    [Fact]
    public void TheDefaultSynPerClassAndMemory_LeaveTheOptionsJsonAsBefore_SoOldCheckpointsResume()
    {
        // The checkpoint hash is taken over this JSON: a new property in it would refuse every earlier MIM4DD checkpoint.
        Assert.DoesNotContain("SynPerClass", JsonSerializer.Serialize(new MimOptions()));
        Assert.DoesNotContain("Bank", JsonSerializer.Serialize(new MimOptions()));
        Assert.Contains("\"SynPerClass\":5", JsonSerializer.Serialize(new MimOptions { SynPerClass = 5 }));
    }
}
