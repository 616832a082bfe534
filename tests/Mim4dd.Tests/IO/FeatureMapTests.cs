using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.IO;

public class FeatureMapTests
{
    [Fact]
    public void ManyClassesAtHighIpc_DrawAnEvenShareOfEachClass_AndSaySo()
    {
        // 20 classes at IPC 6 with 60 points a side: 3 of each class are drawn (the default share is 500 a side).
        const int classes = 20, ipc = 6;
        using var dir = new TestData.TempDir();
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), classes);
        using var weights = net.Initialize(Rng.Torch(0));
        var synLabels = arange(classes, ScalarType.Int64).repeat(ipc);
        var synImages = randn(new long[] { classes * ipc, 1, 28, 28 }, generator: Rng.Torch(1));
        var testLabels = arange(classes, ScalarType.Int64).repeat(3);
        using var test = new Dataset(zeros(new long[] { classes * 3, 1, 28, 28 }, ScalarType.Byte), testLabels,
            Enumerable.Range(0, classes).Select(c => $"c{c}").ToArray());
        var testImages = randn(new long[] { classes * 3, 1, 28, 28 }, generator: Rng.Torch(2));
        FeatureMap.Write(dir.Path, net, weights, synImages, synLabels, test, testImages, seed: 3, pointsPerSide: 60);
        var map = FeatureMap.Read(dir.Path)!;
        Assert.Equal("60 of the 120 synthetic images (the first 3 of each class) and 3 random real test images per class", map.Drawn);
        var synthetic = map.Points.Where(p => p.Synthetic).ToList();
        Assert.Equal(60, synthetic.Count);
        Assert.All(synthetic.GroupBy(p => p.Label), g => Assert.Equal(3, g.Count()));
        Assert.Equal(classes * 3, map.Points.Count(p => !p.Synthetic));
        Assert.All(map.Points, p => Assert.True(double.IsFinite(p.X) && double.IsFinite(p.Y)));
    }
}
