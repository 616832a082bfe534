namespace Mim4dd.Nets;

/// <summary>
/// The DC code's LeNet: two conv5 → ReLU → max-pool stages, then fc_1(120) → ReLU → fc_2(84) → ReLU → fc_3.
/// A 1-channel input gets padding 2 on the first conv so 28×28 and 32×32 inputs both end at 16×5×5.
/// </summary>
public static class LeNet
{
    public static Net Build(string name, InputShape input, int numClasses)
    {
        long padding = input.Channels == 1 ? 2 : 0;
        var shape = FeatureShape.Of(input).Conv(6, 5, padding: padding).Pool(2).Conv(16, 5).Pool(2);
        var convolutions = new Sequence()
            .Add(new Conv2d(input.Channels, 6, 5, padding: padding))
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Pool(PoolKind.Max))
            .Add(new Tap("block0"))
            .Add(new Conv2d(6, 16, 5))
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Pool(PoolKind.Max))
            .Add(new Tap("block1"));
        var features = new Sequence()
            .Add(convolutions, "features")
            .Add(new Flatten())
            .Add(new Linear(shape.Count, 120), "fc_1")
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Tap("fc_1"))
            .Add(new Linear(120, 84), "fc_2")
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Tap("fc_2"));
        return new Net(name, features, new Linear(84, numClasses), 84, featuresPrefix: "", classifierPrefix: "fc_3.");
    }
}
