using Mim4dd.Runtime;

namespace Mim4dd.Nets;

/// <summary>A registered network: what it is and how to build it for an input shape and class count.</summary>
public sealed record NetDefinition(string Name, string Description, Func<InputShape, int, Net> Build);

/// <summary>
/// Every network by the DC/DSA/DM/MTT code's name (case-insensitive), for the CLI, the evaluation pools and
/// test theories. ConvNet variants change one setting of the default ConvNet-3 (width 128, instance norm,
/// ReLU, avg-pool).
/// </summary>
public static class NetRegistry
{
    private static readonly Dictionary<string, NetDefinition> Definitions = new(StringComparer.OrdinalIgnoreCase);
    private static readonly List<string> OrderedNames = new();

    static NetRegistry()
    {
        AddConvNet("ConvNet", "ConvNet-3: 3 × [conv3×3(128), instance norm, ReLU, avg-pool 2], linear");
        for (int depth = 1; depth <= 4; depth++)
            AddConvNet($"ConvNetD{depth}", $"ConvNet with depth {depth}", depth: depth);
        foreach (int width in new[] { 32, 64, 128, 256 })
            AddConvNet($"ConvNetW{width}", $"ConvNet with width {width}", width: width);
        AddConvNet("ConvNetNN", "ConvNet without normalisation", norm: NormKind.None);
        AddConvNet("ConvNetBN", "ConvNet with batch norm", norm: NormKind.Batch);
        AddConvNet("ConvNetLN", "ConvNet with layer norm over [C, H, W]", norm: NormKind.Layer);
        AddConvNet("ConvNetIN", "ConvNet with instance norm (the default)", norm: NormKind.Instance);
        AddConvNet("ConvNetGN", "ConvNet with group norm (4 groups)", norm: NormKind.Group);
        AddConvNet("ConvNetNP", "ConvNet without pooling", pool: PoolKind.None);
        AddConvNet("ConvNetMP", "ConvNet with max-pooling", pool: PoolKind.Max);
        AddConvNet("ConvNetAP", "ConvNet with avg-pooling (the default)", pool: PoolKind.Average);
        AddConvNet("ConvNetAS", "ConvNet with sigmoid activations", activation: ActivationKind.Sigmoid);
        AddConvNet("ConvNetAR", "ConvNet with ReLU activations (the default)", activation: ActivationKind.ReLU);
        AddConvNet("ConvNetAL", "ConvNet with leaky ReLU (slope 0.01)", activation: ActivationKind.LeakyReLU);
        AddConvNet("ConvNetASwish", "ConvNet with swish activations", activation: ActivationKind.Swish);
        AddConvNet("ConvNetASwishBN", "ConvNet with swish activations and batch norm (DM's pool)",
            norm: NormKind.Batch, activation: ActivationKind.Swish);

        Add("MLP", "3-layer perceptron, hidden width 128", Mlp.Build);
        Add("LeNet", "LeNet-5: two conv5 + max-pool stages, linear 120, 84", LeNet.Build);
        Add("AlexNet", "small AlexNet: five convs, three max-pools, one linear", (n, i, c) => AlexNet.Build(n, i, c));
        Add("AlexNetBN", "AlexNet with batch norm after each conv", (n, i, c) => AlexNet.Build(n, i, c, batchNorm: true));
        Add("VGG11", "VGG11 with instance norm", (n, i, c) => Vgg.Build11(n, i, c));
        Add("VGG11BN", "VGG11 with batch norm", (n, i, c) => Vgg.Build11(n, i, c, batchNorm: true));
        Add("ResNet18", "CIFAR ResNet18 with instance norm", (n, i, c) => ResNet.Build18(n, i, c));
        Add("ResNet18BN", "CIFAR ResNet18 with batch norm", (n, i, c) => ResNet.Build18(n, i, c, batchNorm: true));
        Add("ResNet18_AP", "ResNet18, instance norm, avg-pool downsampling instead of stride 2",
            (n, i, c) => ResNet.Build18(n, i, c, averagePoolDownsampling: true));
        Add("ResNet18BN_AP", "ResNet18, batch norm, avg-pool downsampling instead of stride 2",
            (n, i, c) => ResNet.Build18(n, i, c, batchNorm: true, averagePoolDownsampling: true));
    }

    /// <summary>The registered names in a stable order (ConvNet family first).</summary>
    public static IReadOnlyList<string> Names => OrderedNames;

    /// <summary>Looks a name up case-insensitively; throws a <see cref="UserError"/> listing the known names.</summary>
    public static NetDefinition Get(string name) =>
        Definitions.TryGetValue(name, out var definition) ? definition
            : throw UserError.At($"network '{name}'", "unknown name", $"use one of: {string.Join(", ", OrderedNames)}");

    public static bool Contains(string name) => Definitions.ContainsKey(name);

    /// <summary>Builds the network <paramref name="name"/> for <paramref name="input"/> images
    /// and <paramref name="numClasses"/> classes.</summary>
    public static Net Build(string name, InputShape input, int numClasses) => Get(name).Build(input, numClasses);

    private static void AddConvNet(string name, string description, int depth = 3, int width = 128,
        NormKind norm = NormKind.Instance, ActivationKind activation = ActivationKind.ReLU, PoolKind pool = PoolKind.Average) =>
        Add(name, description, (n, input, classes) => ConvNet.Build(n, input, classes, depth, width, norm, activation, pool));

    private static void Add(string name, string description, Func<string, InputShape, int, Net> build)
    {
        Definitions.Add(name, new NetDefinition(name, description, (input, classes) => build(name, input, classes)));
        OrderedNames.Add(name);
    }
}
