using Mim4dd.Data;
using Xunit;
using static Mim4dd.Tests.Data.ImageWriters;
using static Mim4dd.Tests.Data.TestFiles;

namespace Mim4dd.Tests.Data;

public sealed class ImageFolderTests
{
    private const int Width = 5, Height = 4;

    private static byte[] Rgb(int seed) => Pattern(Width * Height * 3, seed);

    private static byte[] Gray(int seed) => Pattern(Width * Height, seed);

    [Fact]
    public void ReadsColourImagesWithClassesInOrdinalOrder()
    {
        using var temp = new TempDirectory();
        // Ordinal order puts "Zebra" before "apple", as torchvision's sorted() does.
        temp.Write("apple/b.png", Png(Width, Height, 3, Rgb(2)));
        temp.Write("apple/a.bmp", Bmp(Width, Height, Rgb(1)));
        temp.Write("apple/notes.txt", "not an image"u8.ToArray());
        temp.Write("Zebra/nested/c.PNG", Png(Width, Height, 3, Rgb(3)));
        using var dataset = ImageFolder.Load(temp.Path);
        Assert.Equal(new[] { "Zebra", "apple" }, dataset.ClassNames);
        Assert.Equal(new long[] { 3, 3, Height, Width }, ShapeOf(dataset));
        Assert.Equal(new long[] { 0, 1, 1 }, LabelsOf(dataset));
        var expected = ToPlanar(Rgb(3).Concat(Rgb(1)).Concat(Rgb(2)).ToArray(), 3, 3);
        Assert.Equal(expected, ImagesOf(dataset));
    }

    [Fact]
    public void AllGrayImagesLoadAsOneChannel()
    {
        using var temp = new TempDirectory();
        temp.Write("0/a.png", Png(Width, Height, 1, Gray(1)));
        temp.Write("1/b.png", Png(Width, Height, 1, Gray(2)));
        using var dataset = ImageFolder.Load(temp.Path);
        Assert.Equal(new long[] { 2, 1, Height, Width }, ShapeOf(dataset));
        Assert.Equal(Gray(1).Concat(Gray(2)).ToArray(), ImagesOf(dataset));
    }

    [Fact]
    public void GrayAmongColourImagesBecomesRgb()
    {
        using var temp = new TempDirectory();
        temp.Write("a/gray.png", Png(Width, Height, 1, Gray(1)));
        var rgba = Pattern(Width * Height * 4, 2);
        temp.Write("b/rgba.png", Png(Width, Height, 4, rgba));
        using var dataset = ImageFolder.Load(temp.Path);
        Assert.Equal(new long[] { 2, 3, Height, Width }, ShapeOf(dataset));
        var grayAsRgb = Gray(1).SelectMany(value => new[] { value, value, value });
        var rgbOfRgba = rgba.Where((_, i) => i % 4 != 3);
        Assert.Equal(ToPlanar(grayAsRgb.Concat(rgbOfRgba).ToArray(), 2, 3), ImagesOf(dataset));
    }

    [Fact]
    public void ReadsTrainAndTestWithSharedClassesAndChannels()
    {
        using var temp = new TempDirectory();
        temp.Write("train/cat/a.png", Png(Width, Height, 1, Gray(1)));
        temp.Write("train/dog/b.png", Png(Width, Height, 1, Gray(2)));
        temp.Write("test/cat/c.png", Png(Width, Height, 3, Rgb(3)));
        temp.Write("test/dog/d.png", Png(Width, Height, 1, Gray(4)));
        var (train, test) = ImageFolder.LoadSplit(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(new[] { "cat", "dog" }, test.ClassNames);
            Assert.Equal(3, train.Channels);
            Assert.Equal(3, test.Channels);
            Assert.Equal(ToPlanar(Rgb(3), 1, 3), ImagesOf(test).AsSpan(0, Width * Height * 3).ToArray());
            Assert.Equal(new long[] { 0, 1 }, LabelsOf(test));
        }
    }

    [Fact]
    public void TestWithOtherClassesIsAUserError()
    {
        using var temp = new TempDirectory();
        temp.Write("train/cat/a.png", Png(Width, Height, 1, Gray(1)));
        temp.Write("test/dog/b.png", Png(Width, Height, 1, Gray(2)));
        AssertUserError(() => ImageFolder.LoadSplit(temp.Path), temp.File("test"));
        AssertUserError(() => ImageFolder.LoadSplit(temp.File("train")), temp.File("train", "train"));
    }

    [Fact]
    public void LinkLoopsInsideClassFoldersEndTheWalk()
    {
        using var temp = new TempDirectory();
        temp.Write("cat/sub/a.png", Png(Width, Height, 1, Gray(1)));
        Directory.CreateSymbolicLink(temp.File("cat", "sub", "up"), temp.File("cat"));
        using var dataset = ImageFolder.Load(temp.Path);
        Assert.Equal(1, dataset.Count);
    }

    [Fact]
    public void EmptyFoldersAreAUserError()
    {
        using var temp = new TempDirectory();
        AssertUserError(() => ImageFolder.Load(temp.Path), temp.Path);
        Directory.CreateDirectory(temp.File("cat"));
        temp.Write("cat/readme.txt", "no images here"u8.ToArray());
        AssertUserError(() => ImageFolder.Load(temp.Path), temp.File("cat"));
        AssertUserError(() => ImageFolder.Load(temp.File("absent")), temp.File("absent"));
    }

    [Fact]
    public void MixedSizesNameTheOddFile()
    {
        using var temp = new TempDirectory();
        temp.Write("a/1.png", Png(Width, Height, 3, Rgb(1)));
        var odd = temp.Write("b/2.png", Png(Width + 1, Height, 3, Pattern((Width + 1) * Height * 3, 2)));
        AssertUserError(() => ImageFolder.Load(temp.Path), odd);
    }

    [Fact]
    public void CorruptImagesNameTheFile()
    {
        using var temp = new TempDirectory();
        temp.Write("a/1.png", Png(Width, Height, 3, Rgb(1)));
        var png = Png(Width, Height, 3, Rgb(2));
        var path = temp.File("b", "2.png");
        foreach (var bytes in new[] { Truncate(png, png.Length - 20), Truncate(png, 30), Truncate(png, 5),
            "GIF89a-not-really"u8.ToArray() })
        {
            temp.Write("b/2.png", bytes);
            AssertUserError(() => ImageFolder.Load(temp.Path), path);
        }
        File.Delete(path);
        var bmp = Bmp(Width, Height, Rgb(3));
        var bmpPath = temp.Write("b/3.bmp", Truncate(bmp, bmp.Length / 2));
        AssertUserError(() => ImageFolder.Load(temp.Path), bmpPath);
    }
}
