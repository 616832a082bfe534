namespace Mim4dd.Nets;

/// <summary>
/// The DC code's small AlexNet: conv5(128) → pool → conv5(192) → pool → conv3(256) → conv3(192) → conv3(192) → pool,
/// each conv followed by ReLU (AlexNetBN: BatchNorm between conv and ReLU), then one linear layer <c>fc</c>.
/// A 1-channel input gets padding 4 on the first conv (28×28 → 32×32).
/// </summary>
public static class AlexNet
{
    public static Net Build(string name, InputShape input, int numClasses, bool batchNorm = false)
    {
        var features = new Sequence();
        var shape = FeatureShape.Of(input);
        void Stage(long outChannels, long kernel, long padding, bool pool, int index)
        {
            features.Add(new Conv2d(shape.Channels, outChannels, kernel, padding: padding));
            shape = shape.Conv(outChannels, kernel, padding: padding);
            if (batchNorm) features.Add(new Norm(NormKind.Batch, outChannels));
            features.Add(new Activation(ActivationKind.ReLU));
            if (pool)
            {
                features.Add(new Pool(PoolKind.Max));
                shape = shape.Pool(2);
            }
            features.Add(new Tap($"block{index}"));
        }
        Stage(128, 5, input.Channels == 1 ? 4 : 2, pool: true, 0);
        Stage(192, 5, 2, pool: true, 1);
        Stage(256, 3, 1, pool: false, 2);
        Stage(192, 3, 1, pool: false, 3);
        Stage(192, 3, 1, pool: true, 4);
        features.Add(new Flatten());
        return new Net(name, features, new Linear(shape.Count, numClasses), shape.Count, classifierPrefix: "fc.");
    }
}
