using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.IO;

public class SafeTensorsTests
{
    [Fact]
    public void SyntheticSet_RoundTripsExactly()
    {
        using var dir = new TestData.TempDir();
        using var images = randn(new long[] { 20, 1, 28, 28 }, generator: Rng.Torch(1));
        using var labels = arange(20).remainder(10);
        new SyntheticSet(images, labels, "mnist", 0.0123).Save(dir.File("syn.safetensors"));
        using var back = SyntheticSet.Load(dir.File("syn.safetensors"));
        Assert.True(back.Images.equal(images).all().item<bool>());
        Assert.True(back.Labels.equal(labels).all().item<bool>());
        Assert.Equal("mnist", back.Dataset);
        Assert.Equal(0.0123, back.LearningRate);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(40)]
    [InlineData(-100)]
    public void TruncatedFile_IsAUserError(int keep)
    {
        using var dir = new TestData.TempDir();
        var path = dir.File("syn.safetensors");
        new SyntheticSet(zeros(2, 1, 4, 4), zeros(2, ScalarType.Int64), "mnist", 0.01).Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, keep >= 0 ? bytes[..keep] : bytes[..^(-keep)]);
        var e = Assert.Throws<UserError>(() => SyntheticSet.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void NaNImages_AreRefused()
    {
        using var dir = new TestData.TempDir();
        var path = dir.File("syn.safetensors");
        new SyntheticSet(full(new long[] { 2, 1, 4, 4 }, float.NaN), zeros(2, ScalarType.Int64), "mnist", 0.01).Save(path);
        Assert.Contains("NaN", Assert.Throws<UserError>(() => SyntheticSet.Load(path)).Message);
    }
}

public class NpzWriterTests
{
    [Fact]
    public void SyntheticSet_AlsoWritesAnNpzThatTheNpyReaderParses()
    {
        using var dir = new TestData.TempDir();
        using var images = randn(new long[] { 4, 1, 3, 3 }, generator: Rng.Torch(2));
        using var labels = tensor(new long[] { 0, 1, 2, 3 });
        new SyntheticSet(images, labels, "mnist", 0.02).Save(dir.File("syn.safetensors"));
        using var zip = System.IO.Compression.ZipFile.OpenRead(dir.File("syn.npz"));
        Assert.Equal(new[] { "lr.npy", "x.npy", "y.npy" }, zip.Entries.Select(e => e.Name).Order().ToArray());
        var x = zip.GetEntry("x.npy")!;
        using var stream = x.Open();
        var array = Mim4dd.Data.Npy.Read(stream, x.Length, "x.npy");
        Assert.Equal(new long[] { 4, 1, 3, 3 }, array.Shape);
        var floats = new float[36];
        Buffer.BlockCopy(array.Data, 0, floats, 0, 144);
        Assert.Equal(images.data<float>().ToArray(), floats);
    }
}
