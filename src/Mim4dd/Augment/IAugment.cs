using static TorchSharp.torch;

namespace Mim4dd.Augment;

/// <summary>
/// An augmentation applied to a whole minibatch [N, C, H, W] while training. Implementations draw all
/// randomness from the generator they are given, so a run is reproducible from its seed.
/// </summary>
public interface IAugment
{
    Tensor Apply(Tensor images, Generator generator);
}
