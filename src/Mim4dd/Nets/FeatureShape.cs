using Mim4dd.Runtime;

namespace Mim4dd.Nets;

/// <summary>
/// The [C, H, W] shape of a feature map, followed through the layers while a net is declared so that a
/// classifier's input size is derived from the input rather than hard-coded as in the reference code.
/// </summary>
public readonly record struct FeatureShape(long Channels, long Height, long Width)
{
    public static FeatureShape Of(InputShape input) => new(input.Channels, input.Height, input.Width);

    public long Count => Channels * Height * Width;

    /// <summary>The shape after a square convolution (PyTorch's floor rule).</summary>
    public FeatureShape Conv(long outChannels, long kernel, long stride = 1, long padding = 0) =>
        Checked(new(outChannels, ConvSize(Height, kernel, stride, padding), ConvSize(Width, kernel, stride, padding)));

    // A kernel larger than the padded map yields 0 here; plain integer division would round -1/2 up to 0 and accept it.
    private static long ConvSize(long size, long kernel, long stride, long padding) =>
        size + 2 * padding < kernel ? 0 : (size + 2 * padding - kernel) / stride + 1;

    /// <summary>The shape after a square pool with stride equal to its size.</summary>
    public FeatureShape Pool(long size) => Checked(new(Channels, Height / size, Width / size));

    private FeatureShape Checked(FeatureShape next) =>
        next.Height >= 1 && next.Width >= 1 ? next
            : throw UserError.At("network input",
                $"a {Height}×{Width} feature map shrinks to {next.Height}×{next.Width} inside the network",
                "use larger images or a shallower network");
}
