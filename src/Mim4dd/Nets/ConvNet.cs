namespace Mim4dd.Nets;

/// <summary>
/// The DC/DSA/DM/MTT ConvNet: depth × [conv3×3(width) → norm → activation → pool], flatten, linear.
/// A 1-channel input gets padding 3 on the first conv (28×28 → 32×32) so MNIST and CIFAR share feature sizes.
/// </summary>
public static class ConvNet
{
    public static Net Build(string name, InputShape input, int numClasses, int depth = 3, int width = 128,
        NormKind norm = NormKind.Instance, ActivationKind activation = ActivationKind.ReLU, PoolKind pool = PoolKind.Average)
    {
        if (depth < 1 || depth > 4) throw new ArgumentOutOfRangeException(nameof(depth), depth, "ConvNet depth must be 1-4");
        var features = new Sequence();
        long channels = input.Channels;
        long size = input.Channels == 1 ? input.Height + 4 : input.Height;   // padding 3 on a 1-channel input grows 28 → 32
        for (int d = 0; d < depth; d++)
        {
            long padding = d == 0 && input.Channels == 1 ? 3 : 1;
            features.Add(new Conv2d(channels, width, 3, padding: padding));
            if (norm != NormKind.None) features.Add(new Norm(norm, width, size, size));
            features.Add(new Activation(activation));
            if (pool != PoolKind.None)
            {
                features.Add(new Pool(pool));
                size /= 2;
            }
            features.Add(new Tap($"block{d}"));
            channels = width;
        }
        features.Add(new Flatten());
        long embedding = width * size * size;
        return new Net(name, features, new Linear(embedding, numClasses), embedding);
    }
}

/// <summary>The input a network is built for.</summary>
public sealed record InputShape(long Channels, long Height, long Width);
