using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Nets;

public class NetForwardTests
{
    public static TheoryData<string, int, int> NamesAndInputs()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var name in NetRegistry.Names)
        {
            data.Add(name, 1, 28);
            data.Add(name, 3, 32);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NamesAndInputs))]
    public void EveryNet_GivesLogitsAndAGradientForEveryParameter(string name, int channels, int size)
    {
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build(name, new InputShape(channels, size, size), 10);
        using var weights = net.Initialize(Rng.Torch(7));
        var images = randn(new long[] { 2, channels, size, size }, generator: Rng.Torch(7, stream: 1));
        var labels = tensor(new long[] { 3, 8 });

        var statisticsBefore = weights.Buffers.Select(b => b.clone()).ToList();
        var tap = new FeatureTap();
        var logits = net.Forward(weights.Parameters, images, training: true, weights.Buffers, tap);
        Assert.Equal(new long[] { 2, 10 }, logits.shape);
        Assert.NotEmpty(tap.Features);
        Assert.All(tap.Features, f => Assert.Equal(2, f.Value.shape[0]));
        Assert.All(weights.Buffers.Where((_, i) => i % 2 == 0).Zip(statisticsBefore.Where((_, i) => i % 2 == 0)),
            pair => Assert.False(pair.First.eq(pair.Second).all().item<bool>(), "training must update running means"));

        nn.functional.cross_entropy(logits, labels).backward();
        for (int i = 0; i < net.Parameters.Count; i++)
        {
            var gradient = weights.Parameters[i].grad;
            Assert.True(gradient is not null, $"{net.Parameters[i].Name} got no gradient");
            Assert.Equal(net.Parameters[i].Shape, gradient.shape);
            Assert.True(gradient.isfinite().all().item<bool>(), $"{net.Parameters[i].Name} has a non-finite gradient");
        }

        using (no_grad())
        {
            var statisticsAfterTraining = weights.Buffers.Select(b => b.clone()).ToList();
            var evalLogits = net.Forward(weights.Parameters, images, training: false, weights.Buffers);
            Assert.Equal(new long[] { 2, 10 }, evalLogits.shape);
            Assert.True(evalLogits.isfinite().all().item<bool>());
            Assert.All(weights.Buffers.Zip(statisticsAfterTraining), pair => Assert.True(pair.First.eq(pair.Second).all().item<bool>()));
            Assert.Equal(new long[] { 2, net.EmbeddingSize }, net.Embed(weights.Parameters, images, false, weights.Buffers).shape);
        }
    }

    [Theory]
    [InlineData("ResNet18", 3, 32, new long[] { 64, 32, 32 }, new long[] { 512, 4, 4 })]
    [InlineData("ResNet18", 1, 28, new long[] { 64, 28, 28 }, new long[] { 512, 4, 4 })]
    [InlineData("ResNet18_AP", 1, 28, new long[] { 64, 28, 28 }, new long[] { 512, 3, 3 })]
    public void ResNetTaps_RecordStemAndEachStage(string name, int channels, int size, long[] stem, long[] lastStage)
    {
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build(name, new InputShape(channels, size, size), 10);
        using var weights = net.Initialize(Rng.Torch(3));
        var tap = new FeatureTap();
        using (no_grad())
            net.Forward(weights, randn(new long[] { 2, channels, size, size }, generator: Rng.Torch(3, stream: 1)), training: false, tap);
        Assert.Equal(new[] { "stem", "layer1", "layer2", "layer3", "layer4" }, tap.Features.Select(f => f.Name));
        Assert.Equal(new long[] { 2 }.Concat(stem), tap.Features[0].Value.shape);
        Assert.Equal(new long[] { 2 }.Concat(lastStage), tap.Features[4].Value.shape);
    }

    [Fact]
    public void InputTooSmall_ThrowsUserError()
    {
        Assert.Throws<UserError>(() => NetRegistry.Build("VGG11", new InputShape(3, 16, 16), 10));
    }
}
