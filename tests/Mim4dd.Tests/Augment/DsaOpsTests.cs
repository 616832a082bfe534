using Mim4dd.Augment;
using Xunit;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Augment;

/// <summary>Each DSA operation with fixed parameters on tensors small enough to know the answer.</summary>
public class DsaOpsTests
{
    private static Tensor Grid(long n, long channels, long height, long width) =>
        arange(1, n * channels * height * width + 1, ScalarType.Float32).view(n, channels, height, width);

    private static Tensor Longs(params long[] values) => tensor(values, ScalarType.Int64);

    private static Tensor Floats(params float[] values) => tensor(values, ScalarType.Float32);

    private static void Close(Tensor expected, Tensor actual, double tolerance = 1e-5) =>
        Assert.True(expected.allclose(actual, rtol: 0, atol: tolerance),
            $"expected [{Text(expected)}] got [{Text(actual)}]");

    private static string Text(Tensor values) =>
        string.Join(", ", values.to_type(ScalarType.Float64).contiguous().data<double>().ToArray().Select(v => v.ToString("G4")));

    [Fact]
    public void FlipReversesWidthOfFlaggedImagesOnly()
    {
        using var scope = NewDisposeScope();
        var x = Grid(2, 1, 2, 3);
        var result = DsaOps.Flip(x, tensor(new[] { true, false }));
        Close(tensor(new float[] { 3, 2, 1, 6, 5, 4 }).view(1, 1, 2, 3), result[0..1]);
        Close(x[1..2], result[1..2]);
    }

    [Fact]
    public void CropMovesPixelsByTheShiftAndFillsWithZeros()
    {
        using var scope = NewDisposeScope();
        var x = Grid(1, 2, 4, 4);
        var result = DsaOps.Crop(x, Longs(1), Longs(-1));
        var expected = zeros(1, 2, 4, 4);
        for (int channel = 0; channel < 2; channel++)
            for (int row = 0; row < 4; row++)
                for (int column = 0; column < 4; column++)
                {
                    int sourceRow = row + 1, sourceColumn = column - 1;
                    if (sourceRow is >= 0 and < 4 && sourceColumn is >= 0 and < 4)
                        expected[0, channel, row, column] = x[0, channel, sourceRow, sourceColumn];
                }
        Close(expected, result, 0);
    }

    [Fact]
    public void CropWithOneSharedShiftMovesEveryImageAlike()
    {
        using var scope = NewDisposeScope();
        var x = Grid(3, 1, 5, 5);
        var shared = DsaOps.Crop(x, Longs(-2), Longs(3));
        var perImage = DsaOps.Crop(x, Longs(-2, -2, -2), Longs(3, 3, 3));
        Close(perImage, shared, 0);
        Close(x[.., .., 0..3, 3..5], shared[.., .., 2..5, 0..2], 0);
        Assert.Equal(0f, shared[.., .., 0..2, ..].abs().sum().item<float>());
        Assert.Equal(0f, shared[.., .., .., 2..5].abs().sum().item<float>());
    }

    [Fact]
    public void CutoutZeroesTheSquareAroundTheCentre()
    {
        using var scope = NewDisposeScope();
        var x = ones(2, 3, 6, 6);
        var result = DsaOps.Cutout(x, Longs(2, 0), Longs(3, 0), 2, 4);
        var expected = ones(2, 3, 6, 6);
        expected[0, .., 1..3, 1..5] = zeros(3, 2, 4);
        // Centre (0, 0): rows −1…0 and columns −2…1, clipped to the image.
        expected[1, .., 0..1, 0..2] = zeros(3, 1, 2);
        Close(expected, result, 0);
    }

    [Fact]
    public void BrightnessAddsOneConstantPerImage()
    {
        using var scope = NewDisposeScope();
        var x = Grid(2, 3, 2, 2);
        var result = DsaOps.Brightness(x, Floats(0.75f, 0.25f));
        Close(x[0..1] + 0.25, result[0..1]);
        Close(x[1..2] - 0.25, result[1..2]);
    }

    [Fact]
    public void SaturationScalesTheDistanceToTheChannelMean()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 0.2f, 0.4f, 0.9f }).view(1, 3, 1, 1);
        Close(tensor(new float[] { 0.35f, 0.45f, 0.7f }).view(1, 3, 1, 1), DsaOps.Saturation(x, Floats(0.25f)));
        var gray = Grid(2, 1, 3, 3);
        Close(gray, DsaOps.Saturation(gray, Floats(0.1f, 0.9f)));
    }

    [Fact]
    public void ContrastScalesTheDistanceToTheImageMean()
    {
        using var scope = NewDisposeScope();
        var x = Grid(2, 2, 2, 2);
        var result = DsaOps.Contrast(x, Floats(0.0f, 0.5f));
        var mean = x[0..1].mean();
        Close((x[0..1] - mean) * 0.5 + mean, result[0..1]);
        Close(x[1..2], result[1..2]);
    }

    [Fact]
    public void ColorAppliesBrightnessThenSaturationThenContrast()
    {
        using var scope = NewDisposeScope();
        var x = rand(2, 3, 4, 4, generator: Mim4dd.Runtime.Rng.Torch(5));
        var (b, s, c) = (Floats(0.1f, 0.8f), Floats(0.3f, 0.6f), Floats(0.9f, 0.2f));
        Close(DsaOps.Contrast(DsaOps.Saturation(DsaOps.Brightness(x, b), s), c), DsaOps.Color(x, b, s, c), 0);
    }

    [Fact]
    public void RotateByZeroAndScaleByOneAreIdentity()
    {
        using var scope = NewDisposeScope();
        var x = rand(2, 3, 5, 7, generator: Mim4dd.Runtime.Rng.Torch(1));
        Close(x, DsaOps.Rotate(x, Floats(0f)));
        Close(x, DsaOps.Scale(x, Floats(1f, 1f), Floats(1f, 1f)));
    }

    [Fact]
    public void RotateByQuarterTurnPermutesPixels()
    {
        using var scope = NewDisposeScope();
        var x = Grid(1, 1, 4, 4);
        var result = DsaOps.Rotate(x, Floats((float)(Math.PI / 2)));
        // Source of output (row r, column c) is (row c, column 3 − r): the matrix [[cos, −sin], [sin, cos]]
        // maps output (x, y) to source (−y, x) in normalised coordinates.
        var expected = zeros(1, 1, 4, 4);
        for (int row = 0; row < 4; row++)
            for (int column = 0; column < 4; column++)
                expected[0, 0, row, column] = x[0, 0, column, 3 - row];
        Close(expected, result, 1e-4);
    }

    [Fact]
    public void ScaleAboveOneShrinksContent()
    {
        using var scope = NewDisposeScope();
        var x = Grid(1, 1, 1, 5);
        // Output column u samples the input at 2u: columns −1, −0.5, 0, 0.5, 1 read −2 (outside), 0, 2, 4, 6 (outside).
        var result = DsaOps.Scale(x, Floats(2f), Floats(1f));
        Close(tensor(new float[] { 0, 1, 3, 5, 0 }).view(1, 1, 1, 5), result);
    }

    [Fact]
    public void OpsRejectParametersOfTheWrongLength()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => DsaOps.Brightness(Grid(3, 1, 2, 2), Floats(0.1f, 0.2f)));
        Assert.Throws<ArgumentException>(() => DsaOps.Crop(Grid(1, 1, 2, 2).view(1, 4), Longs(0), Longs(0)));
    }

    public static TheoryData<string> Operations => new() { "color", "crop", "cutout", "flip", "scale", "rotate" };

    /// <summary>Every operation is affine in the images, so the directional derivative from autograd must match
    /// a central difference to rounding.</summary>
    [Theory]
    [MemberData(nameof(Operations))]
    public void GradientMatchesFiniteDifference(string operation)
    {
        using var scope = NewDisposeScope();
        var generator = Mim4dd.Runtime.Rng.Torch(11);
        var x = rand(new long[] { 2, 3, 6, 6 }, ScalarType.Float64, generator: generator);
        var weights = randn(new long[] { 2, 3, 6, 6 }, ScalarType.Float64, generator: generator);
        var direction = randn(new long[] { 2, 3, 6, 6 }, ScalarType.Float64, generator: generator);
        Func<Tensor, Tensor> apply = operation switch
        {
            "color" => images => DsaOps.Color(images, Floats(0.3f, 0.7f), Floats(0.2f, 0.9f), Floats(0.4f, 0.1f)),
            "crop" => images => DsaOps.Crop(images, Longs(1, -2), Longs(-1, 0)),
            "cutout" => images => DsaOps.Cutout(images, Longs(2, 5), Longs(3, 1), 3, 3),
            "flip" => images => DsaOps.Flip(images, tensor(new[] { true, false })),
            "scale" => images => DsaOps.Scale(images, Floats(1.1f, 0.87f), Floats(0.9f, 1.15f)),
            "rotate" => images => DsaOps.Rotate(images, Floats(0.2f, -0.23f)),
            _ => throw new ArgumentException(operation),
        };
        var input = x.clone().requires_grad_();
        (apply(input) * weights).sum().backward();
        var gradient = input.grad;
        Assert.NotNull(gradient);
        Assert.True(gradient.isfinite().all().item<bool>());
        Assert.True(gradient.abs().sum().item<double>() > 0);
        const double step = 1e-3;
        var plus = (apply(x + step * direction) * weights).sum().item<double>();
        var minus = (apply(x - step * direction) * weights).sum().item<double>();
        var analytic = (gradient * direction).sum().item<double>();
        Assert.Equal(analytic, (plus - minus) / (2 * step), 6);
    }
}
