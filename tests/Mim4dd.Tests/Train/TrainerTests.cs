using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;

namespace Mim4dd.Tests.Train;

public class TrainerTests
{
    [Fact]
    public void ConvNet_On1000RealMnistImages_Reaches85PercentIn8Epochs()
    {
        var mnist = TestData.Mnist;
        var train = TestData.Slice(mnist.Train, 1000);
        var test = TestData.Slice(mnist.Test, 1000);
        using var x = train.Floats(mnist.Normalization);
        using var testX = test.Floats(mnist.Normalization);
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
        using var weights = net.Initialize(Rng.Torch(0));
        var losses = new List<double>();
        Trainer.Train(net, weights, x, train.Labels, new TrainOptions { Epochs = 8, DecayAfterEpoch = 5 }, Rng.Torch(1), null,
            (_, loss) => losses.Add(loss));
        var accuracy = Trainer.Accuracy(net, weights, testX, test.Labels);
        Assert.True(losses[^1] < losses[0] / 2, $"loss went {losses[0]:F3} → {losses[^1]:F3}");
        Assert.True(accuracy >= 0.85, $"test accuracy {accuracy:P1} on 1000 real test images");
    }

    [Fact]
    public void SameSeed_GivesBitIdenticalWeights()
    {
        var mnist = TestData.Mnist;
        var train = TestData.Slice(mnist.Train, 64);
        using var x = train.Floats(mnist.Normalization);
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
        float[] Run()
        {
            using var w = net.Initialize(Rng.Torch(3));
            Trainer.Train(net, w, x, train.Labels, new TrainOptions { Epochs = 2, BatchSize = 32, DecayAfterEpoch = 0 }, Rng.Torch(4));
            return w.Parameters[^2].data<float>().ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Protocol_TrainsEPlusOneEpochsAndDecaysAfterHalfPlusOne()
    {
        var options = TrainOptions.Protocol(300);
        Assert.Equal(301, options.Epochs);
        Assert.Equal(151, options.DecayAfterEpoch);
        Assert.Equal(0.9, options.Momentum);
        Assert.Equal(5e-4, options.WeightDecay);
        Assert.Equal(256, options.BatchSize);
    }

    [Fact]
    public void EvalResult_ReportsMeanAndPopulationStd()
    {
        var r = new EvalResult("ConvNet", [0.9, 0.8, 0.7, 0.6], 1);
        Assert.Equal(0.75, r.Mean, 12);
        Assert.Equal(Math.Sqrt(0.0125), r.Std, 12);
        Assert.Equal("75.00 ± 11.18", r.ToString());
    }
}

public class FullTrainingResumeTests
{
    private sealed class Stop : Exception;

    [Fact]
    public void StoppedTwiceAndContinued_GivesTheBytesOfAnUnbrokenTraining()
    {
        // Three epochs, the decay after the second: the stops land with momentum to carry and after the decay.
        var data = TestData.MnistSlice(300, 100);
        var options = new TrainOptions { Epochs = 3, BatchSize = 64, DecayAfterEpoch = 1 };
        (float[] Weights, double[] Losses, double Accuracy) Train(TrainCheckpoint? checkpoint, int stopAfter = 0)
        {
            var (weights, result) = FullTraining.Run(data, "ConvNet", options, 5, Augmentations.Create("dsa", "mnist"), line =>
            {
                if (stopAfter > 0 && line.StartsWith($"epoch {stopAfter}/")) throw new Stop();
            }, checkpoint);
            using (weights) return (weights.Parameters.SelectMany(p => p.data<float>().ToArray()).ToArray(), result.EpochLoss,
                result.TestAccuracy);
        }
        using var dir = new TestData.TempDir();
        var checkpoint = new TrainCheckpoint(dir.File("checkpoint.safetensors"), "mnist-300 ConvNet 3 epochs");
        Assert.Throws<Stop>(() => Train(checkpoint, stopAfter: 1));
        Assert.Throws<Stop>(() => Train(checkpoint, stopAfter: 2));
        var continued = Train(checkpoint);
        var unbroken = Train(null);
        Assert.Equal(3, unbroken.Losses.Length);
        Assert.Equal(unbroken.Losses, continued.Losses);
        Assert.Equal(unbroken.Weights, continued.Weights);
        Assert.Equal(unbroken.Accuracy, continued.Accuracy);
        var other = new TrainCheckpoint(checkpoint.Path, "mnist-300 ConvNet 4 epochs");
        var refused = Assert.Throws<UserError>(() => Train(other));
        Assert.Contains("other options", refused.Message);
    }
}
