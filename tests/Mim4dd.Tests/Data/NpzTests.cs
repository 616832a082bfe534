using Mim4dd.Data;
using Mim4dd.Runtime;
using Xunit;
using static Mim4dd.Tests.Data.NpyWriter;
using static Mim4dd.Tests.Data.TestFiles;

namespace Mim4dd.Tests.Data;

public sealed class NpzTests
{
    [Fact]
    public void ReadsGrayscaleImagesWithUInt8Labels()
    {
        using var temp = new TempDirectory();
        var pixels = Pattern(3 * 5 * 4, 1);
        var path = temp.Write("gray.npz", NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 3, 5, 4 }, pixels)),
            ("y", NpyBytes("|u1", new long[] { 3 }, new byte[] { 2, 0, 1 })) }));
        using var dataset = Npz.Load(path);
        Assert.Equal(new long[] { 3, 1, 5, 4 }, ShapeOf(dataset));
        Assert.Equal(pixels, ImagesOf(dataset));
        Assert.Equal(new long[] { 2, 0, 1 }, LabelsOf(dataset));
        Assert.Equal(new[] { "0", "1", "2" }, dataset.ClassNames);
    }

    [Fact]
    public void ConvertsChannelsLastToChannelsFirst()
    {
        using var temp = new TempDirectory();
        var pixels = Pattern(2 * 4 * 5 * 3, 2);
        var path = temp.Write("rgb.npz", NpzBytes(new[] { ("images", NpyBytes("|u1", new long[] { 2, 4, 5, 3 }, pixels)),
            ("labels", NpyBytes("<i8", new long[] { 2 }, Int64s(new long[] { 1, 1 }))) }));
        using var dataset = Npz.Load(path, "images", "labels");
        Assert.Equal(new long[] { 2, 3, 4, 5 }, ShapeOf(dataset));
        Assert.Equal(ToPlanar(pixels, 2, 3), ImagesOf(dataset));
        Assert.Equal(new long[] { 1, 1 }, LabelsOf(dataset));
    }

    [Fact]
    public void KeepsChannelsFirstAndScalesFloats()
    {
        using var temp = new TempDirectory();
        var expected = Pattern(2 * 3 * 4 * 4, 3);
        var floats = expected.Select(value => value / 255f).ToArray();
        var doubles = expected.Select(value => value / 255.0).ToArray();
        var labels = NpyBytes("<i4", new long[] { 2 }, Int32s(new[] { 0, 4 }));
        var path32 = temp.Write("f32.npz", NpzBytes(new[] { ("x", NpyBytes("<f4", new long[] { 2, 3, 4, 4 }, Floats(floats))),
            ("y", labels) }));
        var path64 = temp.Write("f64.npz", NpzBytes(new[] { ("x", NpyBytes("<f8", new long[] { 2, 3, 4, 4 }, Doubles(doubles))),
            ("y", labels) }));
        foreach (var path in new[] { path32, path64 })
        {
            using var dataset = Npz.Load(path);
            Assert.Equal(new long[] { 2, 3, 4, 4 }, ShapeOf(dataset));
            Assert.Equal(expected, ImagesOf(dataset));
            Assert.Equal(5, dataset.NumClasses);
        }
    }

    [Fact]
    public void ReadsKerasLayoutWithColumnLabelsCompressed()
    {
        using var temp = new TempDirectory();
        var trainPixels = Pattern(4 * 6 * 6 * 3, 4);
        var testPixels = Pattern(2 * 6 * 6 * 3, 5);
        var path = temp.Write("cifar.npz", NpzBytes(new[]
        {
            ("x_train", NpyBytes("|u1", new long[] { 4, 6, 6, 3 }, trainPixels)),
            ("y_train", NpyBytes("|u1", new long[] { 4, 1 }, new byte[] { 0, 1, 2, 1 })),
            ("x_test", NpyBytes("|u1", new long[] { 2, 6, 6, 3 }, testPixels, version: 2)),
            ("y_test", NpyBytes("|u1", new long[] { 2, 1 }, new byte[] { 3, 0 }, version: 3)),
        }, compressed: true));
        var (train, test) = Npz.LoadSplit(path);
        using (train)
        using (test)
        {
            Assert.Equal(ToPlanar(trainPixels, 4, 3), ImagesOf(train));
            Assert.Equal(ToPlanar(testPixels, 2, 3), ImagesOf(test));
            Assert.Equal(new long[] { 0, 1, 2, 1 }, LabelsOf(train));
            Assert.Equal(new long[] { 3, 0 }, LabelsOf(test));
            Assert.Equal(4, train.NumClasses);
            Assert.Equal(train.ClassNames, test.ClassNames);
        }
    }

    [Fact]
    public void ReadsTrainAndTestFilesFromAFolder()
    {
        using var temp = new TempDirectory();
        var trainPixels = Pattern(3 * 2 * 2, 6);
        temp.Write("train.npz", NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 3, 2, 2 }, trainPixels)),
            ("y", NpyBytes("<i8", new long[] { 3 }, Int64s(new long[] { 0, 1, 0 }))) }));
        temp.Write("test.npz", NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 1, 2, 2 }, Pattern(4, 7))),
            ("y", NpyBytes("<i8", new long[] { 1 }, Int64s(new long[] { 5 }))) }));
        var (train, test) = Npz.LoadSplit(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(trainPixels, ImagesOf(train));
            Assert.Equal(6, train.NumClasses);
            Assert.Equal(Pattern(4, 7), ImagesOf(test));
        }
    }

    private static byte[] ValidNpz() =>
        NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 2, 3, 3 }, Pattern(18, 8))),
            ("y", NpyBytes("|u1", new long[] { 2 }, new byte[] { 0, 1 })) });

    [Fact]
    public void TruncatedOrNonZipFileIsAUserError()
    {
        using var temp = new TempDirectory();
        var bytes = ValidNpz();
        var path = temp.File("bad.npz");
        foreach (var keep in new[] { 0, 3, 40, bytes.Length / 2, bytes.Length - 10 })
        {
            File.WriteAllBytes(path, Truncate(bytes, keep));
            AssertUserError(() => Npz.Load(path), path);
        }
        File.WriteAllBytes(path, "PK this is not a zip"u8.ToArray());
        AssertUserError(() => Npz.Load(path), path);
        AssertUserError(() => Npz.Load(temp.File("absent.npz")), temp.File("absent.npz"));
    }

    [Fact]
    public void BadNpyContentIsAUserError()
    {
        using var temp = new TempDirectory();
        var labels = ("y", NpyBytes("|u1", new long[] { 2 }, new byte[] { 0, 1 }));
        var cases = new (string Name, byte[] X)[]
        {
            ("magic", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[18]).Select((b, i) => i == 5 ? (byte)'Z' : b).ToArray()),
            ("short-data", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[17])),
            ("long-data", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[19])),
            ("big-endian", NpyBytes(">u2", new long[] { 2, 3, 3 }, new byte[36])),
            ("fortran", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[18], fortranOrder: true)),
            ("object", NpyBytes("|O", new long[] { 2, 3, 3 }, new byte[144])),
            ("float-range", NpyBytes("<f4", new long[] { 2, 3, 3 }, Floats(Enumerable.Repeat(1.5f, 18).ToArray()))),
            ("rank-5", NpyBytes("|u1", new long[] { 2, 1, 3, 3, 1 }, new byte[18])),
            ("no-channel-axis", NpyBytes("|u1", new long[] { 2, 5, 6, 7 }, new byte[420])),
            ("empty", NpyBytes("|u1", new long[] { 0, 3, 3 }, Array.Empty<byte>())),
            ("version-9", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[18], version: 9)),
            ("header-garbage", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[18]).Select((b, i) => i == 12 ? (byte)'#' : b).ToArray()),
        };
        foreach (var (name, x) in cases)
        {
            var path = temp.Write($"{name}.npz", NpzBytes(new[] { ("x", x), labels }));
            AssertUserError(() => Npz.Load(path), path);
        }
    }

    [Fact]
    public void BadLabelsAreAUserError()
    {
        using var temp = new TempDirectory();
        var images = ("x", NpyBytes("|u1", new long[] { 2, 3, 3 }, new byte[18]));
        var cases = new (string Name, byte[] Y)[]
        {
            ("count", NpyBytes("|u1", new long[] { 3 }, new byte[] { 0, 1, 2 })),
            ("negative", NpyBytes("<i8", new long[] { 2 }, Int64s(new long[] { 0, -1 }))),
            ("huge", NpyBytes("<i8", new long[] { 2 }, Int64s(new long[] { 0, 1L << 40 }))),
            ("float", NpyBytes("<f4", new long[] { 2 }, Floats(new[] { 0f, 1f }))),
            ("matrix", NpyBytes("|u1", new long[] { 2, 2 }, new byte[4])),
        };
        foreach (var (name, y) in cases)
        {
            var path = temp.Write($"{name}.npz", NpzBytes(new[] { images, ("y", y) }));
            AssertUserError(() => Npz.Load(path), path);
        }
    }

    [Fact]
    public void MissingKeysAreNamed()
    {
        using var temp = new TempDirectory();
        var path = temp.Write("data.npz", ValidNpz());
        var error = AssertUserError(() => Npz.LoadSplit(path), path);
        Assert.Contains("x_train", error.Message);
        Assert.Contains("it holds: x, y", error.Message);
        temp.Write("split/train.npz", ValidNpz());
        AssertUserError(() => Npz.LoadSplit(temp.File("split")), temp.File("split", "test.npz"));
    }

    [Fact]
    public void TrainAndTestSizesMustMatch()
    {
        using var temp = new TempDirectory();
        temp.Write("train.npz", ValidNpz());
        temp.Write("test.npz", NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 1, 4, 4 }, new byte[16])),
            ("y", NpyBytes("|u1", new long[] { 1 }, new byte[] { 0 })) }));
        AssertUserError(() => Npz.LoadSplit(temp.Path), temp.File("test.npz"));
    }
}
