namespace Mim4dd.Nets;

/// <summary>The DC code's MLP: flatten → fc_1(128) → ReLU → fc_2(128) → ReLU → fc_3(classes).</summary>
public static class Mlp
{
    private const long Hidden = 128;

    public static Net Build(string name, InputShape input, int numClasses)
    {
        // The reference module has no features submodule: its tensors are fc_1.*, fc_2.*, fc_3.*.
        var features = new Sequence()
            .Add(new Flatten())
            .Add(new Linear(FeatureShape.Of(input).Count, Hidden), "fc_1")
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Tap("fc_1"))
            .Add(new Linear(Hidden, Hidden), "fc_2")
            .Add(new Activation(ActivationKind.ReLU))
            .Add(new Tap("fc_2"));
        return new Net(name, features, new Linear(Hidden, numClasses), Hidden, featuresPrefix: "", classifierPrefix: "fc_3.");
    }
}
