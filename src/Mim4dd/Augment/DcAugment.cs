using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Augment;

/// <summary>
/// The classic per-image augmentation the DC paper uses when it trains evaluation nets on MNIST
/// (the DC reference code's strategy crop_scale_rotate): every image gets one of three operations, drawn
/// uniformly per image:
/// crop — pad 4 pixels with the batch's per-channel mean and cut a random window (shift −4 … 3);
/// scale — nearest-neighbour resize to ⌊U(0.8, 1.2)·H⌋ × ⌊U(0.8, 1.2)·H⌋, centred on a zero canvas, centre H × W cut;
/// rotate — a whole-degree angle in [−45, 44] about the centre, filled with the mean of the channel means.
/// The reference rotates with a cubic spline (scipy); this uses bilinear sampling, which only softens edges.
/// All three are computed for the whole batch and each image keeps its own, so there is no per-image loop.
/// </summary>
public sealed class DcAugment : IAugment
{
    private const int CropPad = 4;
    private const double ScaleRange = 0.2;
    private const int RotateDegrees = 45;

    public Tensor Apply(Tensor images, Generator generator)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"DC augmentation takes images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        long n = images.shape[0];
        if (n == 0) return images;
        using var scope = NewDisposeScope();
        var choice = randint(0, 3, new[] { n }, ScalarType.Int64, generator: generator).view(-1, 1, 1, 1);
        var rowShift = randint(-CropPad, CropPad, new[] { n }, ScalarType.Int64, generator: generator);
        var columnShift = randint(-CropPad, CropPad, new[] { n }, ScalarType.Int64, generator: generator);
        var heightScale = rand(new[] { n }, ScalarType.Float64, generator: generator).Times(2 * ScaleRange).Plus(1 - ScaleRange);
        var widthScale = rand(new[] { n }, ScalarType.Float64, generator: generator).Times(2 * ScaleRange).Plus(1 - ScaleRange);
        var degrees = randint(-RotateDegrees, RotateDegrees, new[] { n }, ScalarType.Int64, generator: generator);

        var channelMean = images.mean(new long[] { 0, 2, 3 }, keepdim: true);           // [1, C, 1, 1]
        var cropped = DsaOps.Crop(images - channelMean, rowShift, columnShift).Plus(channelMean);
        var scaled = NearestScale(images, heightScale, widthScale);
        var fill = channelMean.mean();
        var rotated = DsaOps.Rotate(images - fill, degrees.to_type(ScalarType.Float64).Times(Math.PI / 180)).Plus(fill);
        var result = where(choice.EqualTo(0), cropped, where(choice.EqualTo(1), scaled, rotated));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per image: resize to h = ⌊sh·H⌋, w = ⌊sw·H⌋ by nearest neighbour (source index ⌊k·H/h⌋, as PyTorch's
    /// 'nearest'), place it centred on a zero canvas of side max(h, w, H, W), cut the centred H × W window.
    /// Done as one gather with a zero border for the pixels outside the resized image.
    /// </summary>
    internal static Tensor NearestScale(Tensor images, Tensor heightScale, Tensor widthScale)
    {
        long n = images.shape[0], channels = images.shape[1], height = images.shape[2], width = images.shape[3];
        // The reference scales both sides by the image height.
        var h = heightScale.Times(height).floor().to_type(ScalarType.Int64).view(-1, 1);
        var w = widthScale.Times(height).floor().to_type(ScalarType.Int64).view(-1, 1);
        var side = maximum(maximum(h, w), tensor(Math.Max(height, width), ScalarType.Int64));
        var rows = SourceIndex(height, height, h, side);                      // [n, H], −1 = outside
        var columns = SourceIndex(width, height, w, side);                    // [n, W]
        var padded = nn.functional.pad(images, new long[] { 1, 0, 1, 0 });   // zero row/column at index 0
        var index = rows.Plus(1).view(n, height, 1).Times(width + 1).Plus(columns.Plus(1).view(n, 1, width))
            .view(n, 1, height * width).expand(n, channels, height * width);
        return padded.flatten(2).gather(2, index).view(n, channels, height, width);
    }

    // Output position i of the centred cut sits at canvas row i + ⌊(side − out)/2⌋; the resized image starts at
    // canvas row ⌊(side − size)/2⌋, and its pixel k samples source ⌊k·source/size⌋.
    private static Tensor SourceIndex(long outLength, long sourceLength, Tensor size, Tensor side)
    {
        var position = Scalars.Arange(outLength, ScalarType.Int64).view(1, -1);
        var k = position.Plus(side.Minus(outLength).Over(2, RoundingMode.floor)) - (side - size).Over(2, RoundingMode.floor);
        var source = (k.to_type(ScalarType.Float64).Times(sourceLength) / size.to_type(ScalarType.Float64)).floor()
            .to_type(ScalarType.Int64)
            .AtMost(sourceLength - 1);
        return where(k.GreaterOrEqual(0).logical_and(k.lt(size)), source, source.FullLike(-1));
    }
}
