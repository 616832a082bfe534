using Mim4dd.Nets;
using Mim4dd.Runtime;
using Xunit;

namespace Mim4dd.Tests.Nets;

public class NetRegistryTests
{
    private static readonly InputShape Cifar = new(3, 32, 32);

    public static TheoryData<string> AllNames => new(NetRegistry.Names);

    [Fact]
    public void UnknownName_ThrowsUserErrorListingKnownNames()
    {
        var error = Assert.Throws<UserError>(() => NetRegistry.Build("ConvNet9", Cifar, 10));
        Assert.Contains("ConvNet9", error.Message);
        foreach (var name in NetRegistry.Names) Assert.Contains(name, error.Message);
    }

    [Theory]
    [InlineData("resnet18_ap", "ResNet18_AP")]
    [InlineData("CONVNETD2", "ConvNetD2")]
    [InlineData("mlp", "MLP")]
    public void Lookup_IsCaseInsensitiveAndNamesTheNetCanonically(string asked, string canonical)
    {
        Assert.Equal(canonical, NetRegistry.Build(asked, Cifar, 10).Name);
    }

    [Fact]
    public void Names_CoverTheEvaluationPoolsOfDcDmAndMtt()
    {
        string[] pools = { "MLP", "ConvNet", "LeNet", "AlexNet", "VGG11", "ResNet18", "ConvNetBN", "ConvNetASwishBN",
            "AlexNetBN", "VGG11BN", "ResNet18BN", "ResNet18_AP" };
        foreach (var name in pools) Assert.Contains(name, NetRegistry.Names);
        Assert.Equal(NetRegistry.Names.Count, NetRegistry.Names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void EveryNet_HasUniqueTensorNames(string name)
    {
        var net = NetRegistry.Build(name, Cifar, 10);
        var names = net.Parameters.Select(p => p.Name).Concat(net.Buffers.Select(b => b.Name)).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.False(n.StartsWith('.') || n.Contains("..", StringComparison.Ordinal), n));
    }

    [Fact]
    public void ConvNet_KeepsFeaturesAndClassifierNames()
    {
        var names = NetRegistry.Build("ConvNetBN", Cifar, 10).Parameters.Select(p => p.Name).ToList();
        Assert.Equal(new[] { "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.4.weight" },
            names.Take(5));
        Assert.Equal(new[] { "classifier.weight", "classifier.bias" }, names.TakeLast(2));
    }

    [Theory]
    [InlineData("MLP", "fc_1.weight", "fc_2.bias", "fc_3.weight")]
    [InlineData("LeNet", "features.0.weight", "features.3.bias", "fc_1.weight", "fc_2.weight", "fc_3.bias")]
    [InlineData("AlexNet", "features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight", "features.10.weight",
        "fc.weight")]
    [InlineData("AlexNetBN", "features.0.weight", "features.1.weight", "features.4.weight", "features.8.weight", "features.14.weight",
        "fc.bias")]
    [InlineData("VGG11", "features.0.weight", "features.1.weight", "features.4.weight", "features.25.weight", "features.26.bias",
        "classifier.weight")]
    [InlineData("ResNet18", "conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer4.1.bn2.bias", "classifier.weight")]
    public void Nets_UseTheReferenceStateDictNames(string name, params string[] expected)
    {
        var names = NetRegistry.Build(name, Cifar, 10).Parameters.Select(p => p.Name).ToList();
        foreach (var n in expected) Assert.Contains(n, names);
    }

    [Theory]
    [InlineData("ResNet18", "layer2.0.shortcut.1")]
    [InlineData("ResNet18_AP", "layer2.0.shortcut.2")]
    public void ResNetBlocks_DeclareInStateDictOrder(string name, string shortcutNorm)
    {
        var names = NetRegistry.Build(name, Cifar, 10).Parameters.Select(p => p.Name).ToList();
        string[] block =
        {
            "layer2.0.conv1.weight", "layer2.0.bn1.weight", "layer2.0.bn1.bias", "layer2.0.conv2.weight",
            "layer2.0.bn2.weight", "layer2.0.bn2.bias", "layer2.0.shortcut.0.weight", $"{shortcutNorm}.weight", $"{shortcutNorm}.bias",
            "layer2.1.conv1.weight",
        };
        int start = names.IndexOf(block[0]);
        Assert.Equal(block, names.Skip(start).Take(block.Length));
        Assert.DoesNotContain(names, n => n.StartsWith("layer1.0.shortcut", StringComparison.Ordinal));
        Assert.Equal(new[] { "conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight" }, names.Take(4));
    }

    [Fact]
    public void BatchNormResNet_NamesItsBuffersAsTheReference()
    {
        var buffers = NetRegistry.Build("ResNet18BN", Cifar, 10).Buffers.Select(b => b.Name).ToList();
        Assert.Equal(new[] { "bn1.running_mean", "bn1.running_var", "layer1.0.bn1.running_mean" }, buffers.Take(3));
        Assert.Contains("layer4.0.shortcut.1.running_var", buffers);
    }
}
