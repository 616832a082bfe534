using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Nets;

/// <summary>
/// The DC code's CIFAR-style ResNet18: conv3×3(64) stem without max-pool, four stages of two BasicBlocks
/// (widths 64/128/256/512, strides 1/2/2/2), bias-free convs, norm = GroupNorm(C, C) ("instancenorm") or
/// BatchNorm, then avg-pool 4 and a linear classifier. The _AP variants downsample by stride-1 conv + 2×2
/// avg-pool instead of stride 2, and skip the final pool (flatten 512·4·4 for 32×32, 512·3·3 for 28×28).
/// Tensor names are the reference's: <c>conv1.*</c>, <c>bn1.*</c>, <c>layer1.0.conv1.*</c>, <c>classifier.*</c>.
/// </summary>
public static class ResNet
{
    private static readonly long[] Widths = { 64, 128, 256, 512 };
    private static readonly long[] Strides = { 1, 2, 2, 2 };
    private const int BlocksPerStage = 2;

    public static Net Build18(string name, InputShape input, int numClasses, bool batchNorm = false, bool averagePoolDownsampling = false)
    {
        var norm = batchNorm ? NormKind.Batch : NormKind.Instance;
        var features = new Sequence()
            .Add(new Conv2d(input.Channels, 64, 3, padding: 1, bias: false), "conv1")
            .Add(new Norm(norm, 64), "bn1")
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Tap("stem"));
        var shape = FeatureShape.Of(input).Conv(64, 3, padding: 1);
        for (int stage = 0; stage < Widths.Length; stage++)
        {
            var blocks = new Sequence();
            for (int b = 0; b < BlocksPerStage; b++)
            {
                long stride = b == 0 ? Strides[stage] : 1;
                blocks.Add(new BasicBlock(shape.Channels, Widths[stage], stride, norm, averagePoolDownsampling));
                shape = averagePoolDownsampling
                    ? shape.Conv(Widths[stage], 3, padding: 1).Pool(stride)
                    : shape.Conv(Widths[stage], 3, stride, padding: 1);
            }
            features.Add(blocks, $"layer{stage + 1}").Add(new Tap($"layer{stage + 1}"));
        }
        if (!averagePoolDownsampling)
        {
            features.Add(new Pool(PoolKind.Average, 4));
            shape = shape.Pool(4);
        }
        features.Add(new Flatten());
        return new Net(name, features, new Linear(shape.Count, numClasses), shape.Count, featuresPrefix: "");
    }
}

/// <summary>
/// ResNet's basic block: relu(norm2(conv2(relu(norm1(conv1(x))))) + shortcut(x)), the shortcut a 1×1 conv + norm
/// when the shape changes. With <paramref name="averagePoolDownsampling"/>, a stride-2 block runs its convs at
/// stride 1 and avg-pools 2×2 after the first (and between the shortcut's conv and norm), as ResNet_AP does.
/// </summary>
public sealed class BasicBlock : Layer
{
    private readonly Conv2d conv1, conv2;
    private readonly Norm norm1, norm2;
    private readonly Sequence? shortcut;
    private readonly bool poolAfterFirstConv;

    public BasicBlock(long inPlanes, long planes, long stride, NormKind norm, bool averagePoolDownsampling)
    {
        long convStride = averagePoolDownsampling ? 1 : stride;
        poolAfterFirstConv = averagePoolDownsampling && stride != 1;
        conv1 = new Conv2d(inPlanes, planes, 3, convStride, padding: 1, bias: false);
        norm1 = new Norm(norm, planes);
        conv2 = new Conv2d(planes, planes, 3, padding: 1, bias: false);
        norm2 = new Norm(norm, planes);
        if (stride != 1 || inPlanes != planes)
        {
            shortcut = new Sequence().Add(new Conv2d(inPlanes, planes, 1, convStride, bias: false));
            if (poolAfterFirstConv) shortcut.Add(new Pool(PoolKind.Average));
            shortcut.Add(new Norm(norm, planes));
        }
    }

    public override void Declare(SpecBuilder specs, string prefix)
    {
        conv1.Declare(specs, $"{prefix}conv1.");
        norm1.Declare(specs, $"{prefix}bn1.");
        conv2.Declare(specs, $"{prefix}conv2.");
        norm2.Declare(specs, $"{prefix}bn2.");
        shortcut?.Declare(specs, $"{prefix}shortcut.");
    }

    // Tensors are consumed in declaration order: the main path first, then the shortcut.
    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        var main = F.relu(norm1.Forward(pass, conv1.Forward(pass, x)));
        if (poolAfterFirstConv) main = F.avg_pool2d(main, 2, 2);
        main = norm2.Forward(pass, conv2.Forward(pass, main));
        var residual = shortcut is null ? x : shortcut.Forward(pass, x);
        return F.relu(main.Plus(residual));
    }
}
