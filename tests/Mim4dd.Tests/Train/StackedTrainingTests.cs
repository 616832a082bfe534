using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Train;

public class StackedTrainingTests
{
    /// <summary>
    /// R nets trained stacked end with the same weights (and batch-norm statistics) as R separate trainings with the
    /// same seeds, in float64: shuffled batches (n > batch), DSA augmentation, lr decay and momentum reset included.
    /// </summary>
    [Theory]
    [InlineData("ConvNet")]
    [InlineData("ConvNetBN")]
    [InlineData("ConvNetGN")]
    [InlineData("MLP")]
    [InlineData("LeNet")]
    public void StackedEqualsSeparateTrainings_InFloat64(string arch)
    {
        const int nets = 3;
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build(arch, new InputShape(1, 28, 28), 4);
        Assert.True(net.CanStack);
        var images = randn(new long[] { 20, 1, 28, 28 }, ScalarType.Float64, generator: Rng.Torch(7));
        var labels = arange(20, ScalarType.Int64) % 4;
        var options = new TrainOptions { Epochs = 3, BatchSize = 8, DecayAfterEpoch = 1 };
        var augment = new Dsa(Dsa.StrategyFor("mnist"));

        var separate = Enumerable.Range(0, nets).Select(r =>
        {
            var w = net.Initialize(Rng.Torch(1, r), ScalarType.Float64);
            Trainer.Train(net, w, images, labels, options, Rng.Torch(2, r), augment);
            return w;
        }).ToList();

        var init = Enumerable.Range(0, nets).Select(r => net.Initialize(Rng.Torch(1, r), ScalarType.Float64)).ToList();
        var stacked = new NetWeights(
            Enumerable.Range(0, net.Parameters.Count).Select(i => stack(init.Select(w => w.Parameters[i].detach())).requires_grad_()).ToList(),
            Enumerable.Range(0, net.Buffers.Count).Select(i => stack(init.Select(w => w.Buffers[i]))).ToList());
        Trainer.TrainStacked(net, stacked, images, labels, options, Enumerable.Range(0, nets).Select(r => Rng.Torch(2, r)).ToList(), augment);

        for (int r = 0; r < nets; r++)
        {
            for (int i = 0; i < net.Parameters.Count; i++)
            {
                double moved = (separate[r].Parameters[i] - init[r].Parameters[i]).abs().max().item<double>();
                double diff = (stacked.Parameters[i][r] - separate[r].Parameters[i]).abs().max().item<double>();
                Assert.True(diff <= 1e-9 * Math.Max(1, moved), $"{net.Parameters[i].Name}, net {r}: stacked differs by {diff:G3} (training moved it {moved:G3})");
            }
            for (int i = 0; i < net.Buffers.Count; i++)
                Assert.True((stacked.Buffers[i][r] - separate[r].Buffers[i]).abs().max().item<double>() <= 1e-9, net.Buffers[i].Name);
        }
    }

    [Fact]
    public void LayerNormNets_DoNotStack_AndTheProtocolTrainsThemOneByOne()
    {
        var net = NetRegistry.Build("ConvNetLN", new InputShape(1, 28, 28), 10);
        Assert.False(net.CanStack);
        using var scope = NewDisposeScope();
        var images = randn(new long[] { 10, 1, 28, 28 }, generator: Rng.Torch(3));
        var labels = arange(10, ScalarType.Int64);
        var result = new EvalProtocol { Repeats = 2, Epochs = 1 }.Run("ConvNetLN", images, labels, images, labels, 10, 0);
        Assert.Equal(2, result.Accuracies.Length);
    }

    [Fact]
    public void TheProtocol_StackedOrNot_GivesTheSameAccuracies()
    {
        var mnist = TestData.Mnist;
        var train = TestData.Slice(mnist.Train, 100);
        var test = TestData.Slice(mnist.Test, 500);
        using var x = train.Floats(mnist.Normalization);
        using var testX = test.Floats(mnist.Normalization);
        var protocol = new EvalProtocol { Repeats = 3, Epochs = 20, Augment = new Dsa(Dsa.StrategyFor("mnist")) };
        var stacked = protocol.Run("ConvNet", x, train.Labels, testX, test.Labels, 10, 5);
        var separate = (protocol with { Stacked = false }).Run("ConvNet", x, train.Labels, testX, test.Labels, 10, 5);
        // float32 training of 21 epochs: rounding may flip a few test images, not the result.
        for (int r = 0; r < 3; r++)
            Assert.True(Math.Abs(stacked.Accuracies[r] - separate.Accuracies[r]) <= 0.01, $"net {r}: {stacked.Accuracies[r]:P1} stacked vs {separate.Accuracies[r]:P1}");
        Assert.True(stacked.Mean > 0.5, $"{stacked}");
    }
}
