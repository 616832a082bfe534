using Mim4dd.IO;
using Mim4dd.Runtime;
using Mim4dd.Tests.Nets;
using Mim4dd.Train;

namespace Mim4dd.Tests.IO;

public class FinishedNetsTests
{
    [Fact]
    public void NetsOfOnePrecision_AreNotReusedByTheOther()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mim4dd-nets-").FullName, "eval-nets.jsonl");
        new FinishedNets(path, "set ConvNet e300").Add(0, new FinishedNet(0.9, 1.0));
        new FinishedNets(path).Add(0, new FinishedNet(0.8, 1.0));
        Assert.Equal(0.9, new FinishedNets(path, "set ConvNet e300").Read(5)[0].Accuracy);
        Assert.Equal(0.8, new FinishedNets(path).Read(5)[0].Accuracy);
        if (!ComputePrecisionTests.Bf16Available()) return;   // bf16 is refused on this CPU, so no bf16 net can exist
        var (keyed, unkeyed) = ComputePrecisionTests.InBf16(() =>
        {
            new FinishedNets(path).Add(1, new FinishedNet(0.7, 1.0));
            return (new FinishedNets(path, "set ConvNet e300").Read(5), new FinishedNets(path).Read(5));
        });
        Assert.Empty(keyed);
        Assert.Equal(new[] { 1 }, unkeyed.Keys);   // only the bf16 net, with its accuracy
        Assert.Equal(0.7, unkeyed[1].Accuracy);
        Assert.False(new FinishedNets(path).Read(5).ContainsKey(1), "fp32 does not see the bf16 net");
    }
}
