using Mim4dd.IO;
using StbImageSharp;
using static TorchSharp.torch;

namespace Mim4dd.Tests.IO;

public class ImageGridTests
{
    private static (int Width, int Height) Grid(int classes, int perClass)
    {
        using var dir = new TestData.TempDir();
        using var images = rand(classes * perClass, 3, 32, 32);
        using var labels = arange(classes).repeat_interleave(perClass);
        ImageGrid.Save(dir.File("grid.png"), images, labels, classes, normalization: null);
        var png = ImageResult.FromMemory(File.ReadAllBytes(dir.File("grid.png")), ColorComponents.RedGreenBlue);
        return (png.Width, png.Height);
    }

    [Fact]
    public void TenClasses_AreOneRowEach() => Assert.Equal((10 * 66 + 2, 10 * 66 + 2), Grid(10, 10));

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    public void HundredClasses_WrapIntoANearSquarePicture(int perClass)
    {
        var (width, height) = Grid(100, perClass);
        // One row per class would be 100 × 66 + 2 = 6602 pixels high.
        Assert.InRange(height, 600, 2400);
        Assert.InRange(width / (double)height, 0.6, 1.6);
    }
}
