using Mim4dd.Coreset;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class MiEstimateTests(ITestOutputHelper output)
{
    /// <summary>−ln(1/(m+1)) − m·ln(m/(m+1)) per layer: every pair scored alike, at 10 classes (m = 9).</summary>
    private static readonly double Plateau = Math.Log(10) + 9 * Math.Log(10.0 / 9);

    [Fact]
    public void OnRealMnistFeatures_TheHeadsLeaveTheAllAlikePlateauAndRetrieveTheClass()
    {
        // The estimator on fixed features of a small real slice: one real image per class against fresh real batches.
        // The critic that lacked the 1:m prior settled at the plateau in a few steps; this one must not.
        TorchRuntime.Start();
        using var scope = NewDisposeScope();
        using var data = TestData.MnistSlice(1200, 10);
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
        using var weights = net.Initialize(Rng.Torch(1));
        var parameters = FlatParameters.Flatten(weights.Parameters).detach();
        var images = data.Train.Floats(data.Normalization);
        var set = CoresetSelection.Random(data.Train, 1, Rng.Torch(2));
        var readings = new List<IReadOnlyList<MimLayerReading>>();

        var estimate = MiEstimate.Run(net, parameters, images.index_select(0, set), data.Train.Labels.index_select(0, set), data.Train,
            images, new MimOptions(), headSteps: 40, batches: 4, realPerClass: 8, poolPerClass: 64, seed: 3, (_, r) => readings.Add(r));

        foreach (var e in estimate)
            output.WriteLine($"{e.Layer}: loss {e.Loss:F3} bound {e.Bound:F3} ± {e.BoundStd:F3} retrieval {e.Retrieval:F2}");
        output.WriteLine($"first step: {string.Join(", ", readings[0].Select(r => $"{r.Loss:F3}"))}");
        Assert.All(estimate, e => Assert.True(e.Loss < Plateau - 0.5, $"{e.Layer}: held-out loss {e.Loss:F3}, plateau {Plateau:F3}"));
        Assert.True(estimate[^1].Bound > 0.5, $"deepest layer's bound {estimate[^1].Bound:F3} nats");
        Assert.True(estimate.Max(e => e.Retrieval) >= 0.8, $"best retrieval {estimate.Max(e => e.Retrieval):F2}");
        Assert.True(readings[^1].Sum(r => r.Loss) < readings[0].Sum(r => r.Loss) - 1, "the heads did not learn");
    }
}
