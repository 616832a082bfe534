using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runtime;
using StbImageSharp;
using static TorchSharp.torch;

namespace Mim4dd.Tests.IO;

public class ExportTests
{
    [Fact]
    public void PtFile_ReadsBackBitEqual_WithPyTorchNamesAndTypes()
    {
        using var dir = new TestData.TempDir();
        using var images = randn(new long[] { 6, 3, 8, 8 }, generator: Rng.Torch(3));
        using var labels = arange(6).remainder(3);
        new SyntheticSet(images, labels, "cifar10", 0.0234).Save(dir.File("syn.safetensors"));

        var back = PtExport.Load(dir.File("syn.pt"));
        Assert.Equal(new[] { "images", "labels", "lr" }, back.Keys.Order());
        Assert.Equal(ScalarType.Float32, back["images"].dtype);
        Assert.Equal(ScalarType.Int64, back["labels"].dtype);
        Assert.True(back["images"].equal(images).all().item<bool>());
        Assert.True(back["labels"].equal(labels).all().item<bool>());
        Assert.Equal(0, back["lr"].dim());
        Assert.Equal(0.0234f, back["lr"].item<float>());
        foreach (var t in back.Values) t.Dispose();
    }

    [Fact]
    public void Grid_HasOneRowPerClass_AndUndoesTheNormalisation()
    {
        using var dir = new TestData.TempDir();
        var norm = new Normalization([0.5f], [0.25f]);
        // Class 0: two images at pixel value 1.0 (normalised (1 − 0.5)/0.25 = 2); class 1: one image at 0.
        using var images = cat(new[] { full(2, 1, 4, 4, 2f), full(1, 1, 4, 4, -2f) });
        using var labels = tensor(new long[] { 0, 0, 1 });
        ImageGrid.Save(dir.File("grid.png"), images, labels, 2, norm);

        var png = ImageResult.FromMemory(File.ReadAllBytes(dir.File("grid.png")), ColorComponents.RedGreenBlue);
        int cell = 4 * 2, gap = 2;   // 4-px images are shown at ×2
        Assert.Equal(2 * (cell + gap) + gap, png.Width);
        Assert.Equal(2 * (cell + gap) + gap, png.Height);
        byte Pixel(int x, int y) => png.Data[(y * png.Width + x) * 3];
        Assert.Equal(255, Pixel(gap + 1, gap + 1));                       // class 0, first image: white
        Assert.Equal(0, Pixel(gap + 1, gap + cell + gap + 1));            // class 1, first image: black
        Assert.Equal(255, Pixel(gap + cell + gap + 1, gap + cell + gap + 1)); // class 1 has no second image: background
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void SyntheticSetSave_WritesEveryFormat()
    {
        using var dir = new TestData.TempDir();
        using var images = randn(new long[] { 4, 1, 28, 28 }, generator: Rng.Torch(4));
        using var labels = tensor(new long[] { 0, 1, 2, 3 });
        new SyntheticSet(images, labels, "mnist", 0.01).Save(dir.File("syn.safetensors"), new Normalization([0.1307f], [0.3081f]));
        foreach (var name in new[] { "syn.safetensors", "syn.npz", "syn.pt", "grid.png" })
            Assert.True(new FileInfo(dir.File(name)).Length > 0, name);
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }
}
