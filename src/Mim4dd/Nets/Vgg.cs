namespace Mim4dd.Nets;

/// <summary>
/// The DC code's VGG11: cfg [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M], each number a
/// conv3×3 → norm → ReLU (instance norm = GroupNorm(C, C); VGG11BN: BatchNorm), M a 2×2 max-pool,
/// then a linear classifier on the flattened map (1×1×512 for 32×32 inputs).
/// A 1-channel input gets padding 3 on the first conv (28×28 → 32×32).
/// </summary>
public static class Vgg
{
    private const int MaxPool = 0;
    private static readonly int[] Vgg11 = { 64, MaxPool, 128, MaxPool, 256, 256, MaxPool, 512, 512, MaxPool, 512, 512, MaxPool };

    public static Net Build11(string name, InputShape input, int numClasses, bool batchNorm = false)
    {
        var norm = batchNorm ? NormKind.Batch : NormKind.Instance;
        var features = new Sequence();
        var shape = FeatureShape.Of(input);
        int stage = 0;
        for (int i = 0; i < Vgg11.Length; i++)
        {
            if (Vgg11[i] == MaxPool)
            {
                features.Add(new Pool(PoolKind.Max)).Add(new Tap($"block{stage++}"));
                shape = shape.Pool(2);
                continue;
            }
            long padding = input.Channels == 1 && i == 0 ? 3 : 1;
            features.Add(new Conv2d(shape.Channels, Vgg11[i], 3, padding: padding));
            shape = shape.Conv(Vgg11[i], 3, padding: padding);
            features.Add(new Norm(norm, Vgg11[i], shape.Height, shape.Width));
            features.Add(new Activation(ActivationKind.ReLU));
        }
        // The reference ends with AvgPool2d(1, 1), an identity after the last tensor-holding layer: left out.
        features.Add(new Flatten());
        return new Net(name, features, new Linear(shape.Count, numClasses), shape.Count);
    }
}
