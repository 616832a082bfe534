using Mim4dd.Data;
using Mim4dd.Runtime;
using Xunit;
using static Mim4dd.Tests.Data.TestFiles;

namespace Mim4dd.Tests.Data;

public sealed class CifarPickleTests
{
    private const int Row = 3072;
    private static readonly string[] Names10 = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" };

    /// <summary>A CIFAR-10 folder with two images per training batch and three test images.</summary>
    private static (byte[] Train, long[] TrainLabels, byte[] Test, long[] TestLabels) WriteCifar10(string dir, bool python3 = false)
    {
        var train = new List<byte>();
        var trainLabels = new List<long>();
        for (int batch = 1; batch <= 5; batch++)
        {
            var data = Pattern(2 * Row, batch);
            long[] labels = { batch, (batch * 3) % 10 };
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{batch}"), PickleWriter.CifarBatch(data, 2, Row, labels, python3: python3));
            train.AddRange(data);
            trainLabels.AddRange(labels);
        }
        var test = Pattern(3 * Row, 9);
        long[] testLabels = { 3, 8, 0 };
        File.WriteAllBytes(Path.Combine(dir, "test_batch"), PickleWriter.CifarBatch(test, 3, Row, testLabels, python3: python3));
        File.WriteAllBytes(Path.Combine(dir, "batches.meta"), PickleWriter.CifarMeta("label_names", Names10, python3));
        return (train.ToArray(), trainLabels.ToArray(), test, testLabels);
    }

    [Fact]
    public void ReadsCifar10Batches()
    {
        using var temp = new TempDirectory();
        var expected = WriteCifar10(temp.Path);
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(new long[] { 10, 3, 32, 32 }, ShapeOf(train));
            Assert.Equal(expected.Train, ImagesOf(train));
            Assert.Equal(expected.TrainLabels, LabelsOf(train));
            Assert.Equal(new long[] { 3, 3, 32, 32 }, ShapeOf(test));
            Assert.Equal(expected.Test, ImagesOf(test));
            Assert.Equal(expected.TestLabels, LabelsOf(test));
            Assert.Equal(Names10, train.ClassNames);
            Assert.Equal(Names10, test.ClassNames);
        }
    }

    [Fact]
    public void ReadsPython3PicklesWithBytesKeysAndEncodedData()
    {
        using var temp = new TempDirectory();
        var expected = WriteCifar10(temp.Path, python3: true);
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(expected.Train, ImagesOf(train));
            Assert.Equal(expected.TestLabels, LabelsOf(test));
            Assert.Equal(Names10, test.ClassNames);
        }
    }

    [Fact]
    public void FindsTheExtractedFolderInsideTheGivenOne()
    {
        using var temp = new TempDirectory();
        var inner = Directory.CreateDirectory(temp.File("cifar-10-batches-py")).FullName;
        var expected = WriteCifar10(inner);
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test) Assert.Equal(expected.TestLabels, LabelsOf(test));
    }

    [Fact]
    public void ReadsCifar100FineLabels()
    {
        using var temp = new TempDirectory();
        var trainData = Pattern(4 * Row, 1);
        var testData = Pattern(2 * Row, 2);
        var names = new[] { "apple", "aquarium_fish", "baby", "bear" };
        File.WriteAllBytes(temp.File("train"), PickleWriter.CifarBatch(trainData, 4, Row, new long[] { 3, 0, 1, 2 }, "fine_labels"));
        File.WriteAllBytes(temp.File("test"), PickleWriter.CifarBatch(testData, 2, Row, new long[] { 2, 3 }, "fine_labels"));
        File.WriteAllBytes(temp.File("meta"), PickleWriter.CifarMeta("fine_label_names", names));
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(trainData, ImagesOf(train));
            Assert.Equal(new long[] { 3, 0, 1, 2 }, LabelsOf(train));
            Assert.Equal(testData, ImagesOf(test));
            Assert.Equal(names, test.ClassNames);
        }
    }

    [Fact]
    public void FolderWithoutBatchesIsAUserError()
    {
        using var temp = new TempDirectory();
        AssertUserError(() => CifarPickle.Load(temp.Path), temp.Path);
        AssertUserError(() => CifarPickle.Load(temp.File("absent")), temp.File("absent"));
    }

    [Fact]
    public void MissingBatchIsNamed()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        File.Delete(temp.File("data_batch_3"));
        AssertUserError(() => CifarPickle.Load(temp.Path), temp.File("data_batch_3"));
    }

    [Fact]
    public void TruncatedBatchIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("test_batch");
        var bytes = File.ReadAllBytes(path);
        foreach (var keep in new[] { 0, 1, 30, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, Truncate(bytes, keep));
            AssertUserError(() => CifarPickle.Load(temp.Path), path);
        }
    }

    [Fact]
    public void NonPickleIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_2");
        File.WriteAllBytes(path, "<html>not found</html>"u8.ToArray());
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
        File.WriteAllBytes(path, new byte[] { 0x1f, 0x8b, 8, 0, 0, 0 });
        Assert.Contains("gzip", AssertUserError(() => CifarPickle.Load(temp.Path), path).Message);
        File.WriteAllBytes(path, new PickleWriter().Proto(2).IntList(new long[] { 1, 2 }).ToArray());
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void LabelCountMismatchIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_4");
        File.WriteAllBytes(path, PickleWriter.CifarBatch(Pattern(2 * Row, 4), 2, Row, new long[] { 1, 2, 3 }));
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void WrongRowLengthOrDataSizeIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("test_batch");
        File.WriteAllBytes(path, PickleWriter.CifarBatch(Pattern(2 * 100, 4), 2, 100, new long[] { 1, 2 }));
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
        // The shape promises two rows but the raw bytes hold one.
        File.WriteAllBytes(path, PickleWriter.CifarBatch(Pattern(Row, 4), 2, Row, new long[] { 1, 2 }));
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void LabelOutOfRangeIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_1");
        File.WriteAllBytes(path, PickleWriter.CifarBatch(Pattern(2 * Row, 1), 2, Row, new long[] { 1, 10 }));
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void BigEndianOrUnknownDtypeIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_1");
        var writer = new PickleWriter().Proto(2).EmptyDict().Mark().Str("data")
            .NumpyArray(new long[] { 1, Row }, "u2", new byte[2 * Row], byteOrder: ">");
        File.WriteAllBytes(path, writer.Str("labels").IntList(new long[] { 1 }).SetItems().ToArray());
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
        writer = new PickleWriter().Proto(2).EmptyDict().Mark().Str("data").NumpyArray(new long[] { 1, Row }, "O", new byte[Row]);
        File.WriteAllBytes(path, writer.Str("labels").IntList(new long[] { 1 }).SetItems().ToArray());
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("__builtin__", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("datetime", "datetime")]
    [InlineData("__builtin__", "set")]
    public void ForbiddenGlobalIsRefusedBeforeAnythingRuns(string module, string name)
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_1");
        var marker = temp.File("pwned");
        var payload = new PickleWriter().Proto(2).Global(module, name).Str($"touch {marker}").Tuple1().Reduce().ToArray();
        File.WriteAllBytes(path, payload);
        var error = AssertUserError(() => CifarPickle.Load(temp.Path), path);
        Assert.Contains($"{module}.{name}", error.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void ForbiddenGlobalHiddenInsideTheBatchIsRefused()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("test_batch");
        // A valid batch with one extra entry whose value is an unknown class: Razorvine alone would make it a ClassDict.
        var writer = new PickleWriter().Proto(2).EmptyDict().Mark().Str("data").NumpyArray(new long[] { 1, Row }, "u1", new byte[Row]);
        writer.Str("labels").IntList(new long[] { 1 }).Str("extra").Global("collections", "OrderedDict").Op(0x29).Reduce();
        File.WriteAllBytes(path, writer.SetItems().ToArray());
        Assert.Contains("collections.OrderedDict", AssertUserError(() => CifarPickle.Load(temp.Path), path).Message);
    }

    [Fact]
    public void StackGlobalIsCheckedToo()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_1");
        // Protocol 4 names globals with two strings on the stack, here one of them fetched from the memo.
        var named = new PickleWriter().Proto(4).Unicode("os", shortForm: true).Memoize().Unicode("system", shortForm: true).Memoize()
            .Get(0).Get(1).StackGlobal().Unicode("true", shortForm: true).Tuple1().Reduce().ToArray();
        File.WriteAllBytes(path, named);
        Assert.Contains("os.system", AssertUserError(() => CifarPickle.Load(temp.Path), path).Message);
        // Names built at run time cannot be checked, so they are refused.
        var computed = new PickleWriter().Proto(4).Unicode("os", shortForm: true).Unicode("system", shortForm: true)
            .Tuple().StackGlobal().ToArray();
        File.WriteAllBytes(path, computed);
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void AllowedGlobalViaStackGlobalStillWorks()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_1");
        var writer = new PickleWriter().Proto(4).EmptyDict().Mark().Unicode("data", shortForm: true);
        writer.Global("numpy.core.multiarray", "_reconstruct").Unicode("numpy", shortForm: true).Memoize()
            .Unicode("ndarray", shortForm: true).StackGlobal().Int(0).Tuple1().Str("b").Tuple3().Reduce();
        writer.Mark().Int(1).Mark().Int(1).Int(Row).Tuple().Get(0).Unicode("dtype", shortForm: true).StackGlobal()
            .Str("u1").Int(0).Int(1).Tuple3().Reduce();
        writer.Mark().Int(3).Str("|").None().None().None().Int(-1).Int(-1).Int(0).Tuple().Build();
        writer.False().Str(Pattern(Row, 5)).Tuple().Build();
        writer.Unicode("labels", shortForm: true).IntList(new long[] { 7 }).SetItems();
        File.WriteAllBytes(path, writer.ToArray());
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(9, train.Count);
            Assert.Equal(Pattern(Row, 5), ImagesOf(train).AsSpan(0, Row).ToArray());
            Assert.Equal(7, LabelsOf(train)[0]);
        }
    }

    [Fact]
    public void ReadsProtocol5ArraysFromBuffers()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("data_batch_5");
        var data = Pattern(2 * Row, 11);
        // What Python 3.14's pickle.dump writes for {'data': array, 'labels': [..]}: numpy's _frombuffer at protocol 5.
        var writer = new PickleWriter().Proto(5).Op(0x95, 0, 0, 0, 0, 0, 0, 0, 0).EmptyDict().Memoize().Mark()
            .Unicode("data", shortForm: true).Memoize()
            .Unicode("numpy._core.numeric", shortForm: true).Memoize().Unicode("_frombuffer", shortForm: true).Memoize()
            .StackGlobal().Memoize()
            .Mark().ByteArray8(data).Memoize()
            .Unicode("numpy", shortForm: true).Memoize().Unicode("dtype", shortForm: true).Memoize().StackGlobal().Memoize()
            .Unicode("u1", shortForm: true).Memoize().False().Op(0x88).Tuple3().Memoize().Reduce().Memoize()
            .Mark().Int(3).Unicode("|", shortForm: true).Memoize().None().None().None().Int(-1).Int(-1).Int(0).Tuple().Memoize().Build()
            .Int(2).Int(Row).Op(0x86).Memoize().Unicode("C", shortForm: true).Memoize().Tuple().Memoize().Reduce().Memoize()
            .Unicode("labels", shortForm: true).Memoize().IntList(new long[] { 4, 2 }).SetItems();
        File.WriteAllBytes(path, writer.ToArray());
        var (train, test) = CifarPickle.Load(temp.Path);
        using (train)
        using (test)
        {
            Assert.Equal(data, ImagesOf(train).AsSpan(8 * Row, 2 * Row).ToArray());
            Assert.Equal(new long[] { 4, 2 }, LabelsOf(train)[8..]);
        }
    }

    [Fact]
    public void MetaWithoutNamesIsAUserError()
    {
        using var temp = new TempDirectory();
        WriteCifar10(temp.Path);
        var path = temp.File("batches.meta");
        File.WriteAllBytes(path, PickleWriter.CifarMeta("other_names", Names10));
        AssertUserError(() => CifarPickle.Load(temp.Path), path);
    }

    [Fact]
    public void ErrorsAreOnlyUserErrors()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("train"), PickleWriter.CifarBatch(Pattern(Row, 1), 1, Row, new long[] { 1 }, "fine_labels"));
        File.WriteAllBytes(temp.File("meta"), PickleWriter.CifarMeta("fine_label_names", new[] { "a", "b", "c" }));
        var path = temp.File("test");
        var bytes = PickleWriter.CifarBatch(Pattern(2 * Row, 2), 2, Row, new long[] { 2, 0 }, "fine_labels");
        // Flip single bytes across the opcode-heavy start and the end of the file: every outcome is a load or a UserError.
        var positions = Enumerable.Range(0, 120).Concat(Enumerable.Range(bytes.Length - 40, 40));
        foreach (var position in positions)
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[position] ^= 0x5a;
            File.WriteAllBytes(path, corrupt);
            try
            {
                var (train, test) = CifarPickle.Load(temp.Path);
                train.Dispose();
                test.Dispose();
            }
            catch (UserError error) { Assert.Contains(path, error.Message); }
        }
    }
}
