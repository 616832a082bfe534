using Mim4dd.Data;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Data;

public class IdxTests
{
    [Fact]
    public void RealMnist_HasPaperShapesAndBalancedClasses()
    {
        var mnist = TestData.Mnist;
        Assert.Equal(new long[] { 60000, 1, 28, 28 }, mnist.Train.ImagesU8.shape);
        Assert.Equal(new long[] { 10000, 1, 28, 28 }, mnist.Test.ImagesU8.shape);
        Assert.Equal(5923, mnist.Train.ClassCounts()[0]);   // the well-known MNIST class sizes
        Assert.Equal(1135, mnist.Test.ClassCounts()[1]);
        Assert.Equal(5, mnist.Train.Labels[0].item<long>());  // the first training digit is a 5
    }

    [Fact]
    public void WriteThenRead_RoundTripsARealSlice()
    {
        using var dir = new TestData.TempDir();
        var slice = TestData.Slice(TestData.Mnist.Train, 1000);
        Idx.Write(dir.File("img.idx"), slice.ImagesU8);
        Idx.Write(dir.File("lbl.idx"), slice.Labels.to_type(ScalarType.Byte));
        using var back = Idx.ReadPair(dir.File("img.idx"), dir.File("lbl.idx"));
        Assert.True(back.ImagesU8.equal(slice.ImagesU8).all().item<bool>());
        Assert.True(back.Labels.equal(slice.Labels).all().item<bool>());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "truncated", "truncated" },
        { "magic", "not an IDX file" },
        { "type", "not supported" },
        { "trailing", "trailing bytes" },
        { "header", "truncated IDX header" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptFile_IsAUserErrorNamingTheFile(string corruption, string expected)
    {
        using var dir = new TestData.TempDir();
        var path = dir.File($"{corruption}.idx");
        Idx.Write(path, TestData.Slice(TestData.Mnist.Train, 10).ImagesU8);
        var bytes = File.ReadAllBytes(path);
        bytes = corruption switch
        {
            "truncated" => bytes[..^100],
            "magic" => [1, .. bytes[1..]],
            "type" => [0, 0, 0x0D, .. bytes[3..]],
            "trailing" => [.. bytes, 7],
            _ => bytes[..9],
        };
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<UserError>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void LabelCountMismatch_IsAUserError()
    {
        using var dir = new TestData.TempDir();
        var slice = TestData.Slice(TestData.Mnist.Train, 20);
        Idx.Write(dir.File("img.idx"), slice.ImagesU8);
        Idx.Write(dir.File("lbl.idx"), slice.Labels.narrow(0, 0, 19).to_type(ScalarType.Byte));
        var e = Assert.Throws<UserError>(() => Idx.ReadPair(dir.File("img.idx"), dir.File("lbl.idx")));
        Assert.Contains("19 labels for 20 images", e.Message);
    }

    [Fact]
    public void ChangedCacheFile_FailsTheShaCheck()
    {
        using var dir = new TestData.TempDir();
        var folder = Path.Combine(dir.Path, "mnist");
        Directory.CreateDirectory(folder);
        foreach (var file in Mnist.FileSha.Keys)
            File.Copy(Path.Combine(TestData.CacheDir, "mnist", file), Path.Combine(folder, file));
        using (var stream = File.OpenWrite(Path.Combine(folder, "t10k-labels-idx1-ubyte")))
        {
            stream.Position = 100;
            stream.WriteByte(3);
        }
        var e = Assert.Throws<UserError>(() => Mnist.LoadFromCache(dir.Path));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
    }
}
