using Mim4dd.Nets;
using Xunit;

namespace Mim4dd.Tests.Nets;

/// <summary>Parameter counts (weights + biases + norm affine; no buffers) against the spec and hand arithmetic.</summary>
public class ParameterCountTests
{
    private static readonly InputShape Mnist = new(1, 28, 28);
    private static readonly InputShape Cifar = new(3, 32, 32);

    private static InputShape Input(int channels) => channels == 1 ? Mnist : Cifar;

    // baselines.md §1.1 table.
    [Theory]
    [InlineData(1, 10, 1, 329_226)]
    [InlineData(1, 10, 2, 231_306)]
    [InlineData(1, 10, 3, 317_706)]
    [InlineData(1, 10, 4, 450_186)]
    [InlineData(3, 10, 1, 331_530)]
    [InlineData(3, 10, 2, 233_610)]
    [InlineData(3, 10, 3, 320_010)]
    [InlineData(3, 10, 4, 452_490)]
    [InlineData(3, 100, 1, 3_280_740)]
    [InlineData(3, 100, 2, 970_980)]
    [InlineData(3, 100, 3, 504_420)]
    [InlineData(3, 100, 4, 498_660)]
    public void ConvNetDepths_MatchSpecTable(int channels, int classes, int depth, long expected)
    {
        Assert.Equal(expected, NetRegistry.Build($"ConvNetD{depth}", Input(channels), classes).ParameterCount);
    }

    [Fact]
    public void ConvNet_IsConvNetD3()
    {
        Assert.Equal(320_010, NetRegistry.Build("ConvNet", Cifar, 10).ParameterCount);
    }

    // 3×32×32, 10 classes. Default convs 3,584 + 2·147,584 = 298,752; linear 2048·10+10 = 20,490.
    // W32: convs (3·9+1)·32 = 896, 2·(32·9+1)·32 = 18,496; GN 3·64 = 192; linear 512·10+10 = 5,130 → 24,714.
    // NN: 320,010 − GN 768 = 319,242. BN: affine as GN → 320,010.
    // LN: affine 2·128·(32² + 16² + 8²) = 344,064 → 298,752 + 344,064 + 20,490 = 663,306.
    // NP: GN 768; linear 128·32·32·10+10 = 1,310,730 → 298,752 + 768 + 1,310,730 = 1,610,250.
    [Theory]
    [InlineData("ConvNetW32", 24_714)]
    [InlineData("ConvNetNN", 319_242)]
    [InlineData("ConvNetBN", 320_010)]
    [InlineData("ConvNetLN", 663_306)]
    [InlineData("ConvNetNP", 1_610_250)]
    public void ConvNetVariants_MatchHandCounts(string name, long expected)
    {
        Assert.Equal(expected, NetRegistry.Build(name, Cifar, 10).ParameterCount);
    }

    // MLP and LeNet: baselines.md §1.2.
    // AlexNet, 3-ch: conv1 3·128·25+128 = 9,728; conv2 128·192·25+192 = 614,592; conv3 192·256·9+256 = 442,624;
    //   conv4 256·192·9+192 = 442,560; conv5 192·192·9+192 = 331,968; fc 3072·10+10 = 30,730 → 1,872,202.
    //   1-ch: conv1 1·128·25+128 = 3,328 → 1,865,802. AlexNetBN: + 2·(128+192+256+192+192) = 1,920.
    // VGG11, 3-ch: convs (params + bias) 1,792 + 73,856 + 295,168 + 590,080 + 1,180,160 + 3·2,359,808 = 9,220,480;
    //   norm affine 2·(64+128+256+256+4·512) = 5,504; classifier 512·10+10 = 5,130 → 9,231,114.
    //   1-ch: first conv 1·64·9+64 = 640 instead of 1,792 → 9,229,962. VGG11BN: same affine count.
    // ResNet18, 3-ch (bias-free convs): stem 3·64·9 = 1,728 + norm 128;
    //   layer1 2·(2·36,864 + 256) = 147,968;
    //   layer2 (73,728 + 147,456 + 512 + shortcut 8,192 + 256) + (2·147,456 + 512) = 525,568;
    //   layer3 (294,912 + 589,824 + 1,024 + 32,768 + 512) + (2·589,824 + 1,024) = 2,099,712;
    //   layer4 (1,179,648 + 2,359,296 + 2,048 + 131,072 + 1,024) + (2·2,359,296 + 2,048) = 8,393,728;
    //   classifier 5,130 → 11,173,962. 1-ch: stem 576 instead of 1,728 → 11,172,810. ResNet18BN: same.
    // ResNet18_AP: classifier on 512·4·4 (3-ch): 81,930 → 11,250,762; on 512·3·3 (1-ch): 46,090 → 11,213,770.
    [Theory]
    [InlineData("MLP", 1, 118_282)]
    [InlineData("MLP", 3, 411_146)]
    [InlineData("LeNet", 1, 61_706)]
    [InlineData("LeNet", 3, 62_006)]
    [InlineData("AlexNet", 1, 1_865_802)]
    [InlineData("AlexNet", 3, 1_872_202)]
    [InlineData("AlexNetBN", 1, 1_867_722)]
    [InlineData("AlexNetBN", 3, 1_874_122)]
    [InlineData("VGG11", 1, 9_229_962)]
    [InlineData("VGG11", 3, 9_231_114)]
    [InlineData("VGG11BN", 1, 9_229_962)]
    [InlineData("VGG11BN", 3, 9_231_114)]
    [InlineData("ResNet18", 1, 11_172_810)]
    [InlineData("ResNet18", 3, 11_173_962)]
    [InlineData("ResNet18BN", 1, 11_172_810)]
    [InlineData("ResNet18BN", 3, 11_173_962)]
    [InlineData("ResNet18_AP", 1, 11_213_770)]
    [InlineData("ResNet18_AP", 3, 11_250_762)]
    [InlineData("ResNet18BN_AP", 1, 11_213_770)]
    [InlineData("ResNet18BN_AP", 3, 11_250_762)]
    public void CrossArchitectureNets_MatchHandCounts(string name, int channels, long expected)
    {
        Assert.Equal(expected, NetRegistry.Build(name, Input(channels), 10).ParameterCount);
    }

    // Batch norms: ConvNetBN 3; AlexNetBN 5; VGG11BN 8; ResNet18BN stem 1 + 8 blocks · 2 + 3 shortcuts = 20.
    [Theory]
    [InlineData("ConvNetBN", 3)]
    [InlineData("AlexNetBN", 5)]
    [InlineData("VGG11BN", 8)]
    [InlineData("ResNet18BN", 20)]
    [InlineData("ResNet18BN_AP", 20)]
    [InlineData("ResNet18", 0)]
    public void BatchNormNets_DeclareRunningMeanAndVarianceForEachNorm(string name, int batchNorms)
    {
        var net = NetRegistry.Build(name, Cifar, 10);
        Assert.Equal(2 * batchNorms, net.Buffers.Count);
        Assert.Equal(batchNorms, net.Buffers.Count(b => b.Name.EndsWith(".running_mean", StringComparison.Ordinal)));
    }
}
