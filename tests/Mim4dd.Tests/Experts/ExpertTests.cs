using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Experts;

/// <summary>Expert files, expert training on real MNIST slices, and the resumable, sharded store.</summary>
public class ExpertTests
{
    private static readonly InputShape Mnist28 = new(1, 28, 28);

    private static DataSplit Split(long trainCount) => TestData.MnistSlice(trainCount, 100);

    private static ExpertOptions Tiny(int experts = 2, int epochs = 1) =>
        new() { NumExperts = experts, Epochs = epochs, BatchSize = 64 };

    internal static ExpertTrajectory Synthetic(int snapshots = 4, long parameters = 1000)
    {
        var values = randn(new long[] { snapshots, parameters }, generator: Rng.Torch(5));
        // Values that a careless float conversion would change: −0, a subnormal, the extremes.
        values[0, 0] = tensor(-0.0f);
        values[0, 1] = tensor(1e-42f);
        values[0, 2] = tensor(float.MaxValue);
        values[0, 3] = tensor(float.Epsilon);
        var metadata = new ExpertMetadata("mnist", "ConvNet", parameters, snapshots, 0.01, 256, false, "color_crop", 7, 3, "test",
            [2.3, 1.1, 0.7], 0.5);
        return new ExpertTrajectory(metadata, values.DetachFromDisposeScope());
    }

    private static byte[] Bytes(Tensor t)
    {
        using var c = t.contiguous();
        return c.bytes.ToArray();
    }

    [Fact]
    public void File_RoundTripsBitExact()
    {
        using var dir = new TestData.TempDir();
        using var expert = Synthetic();
        var path = dir.File("e.m4e");
        ExpertFile.Save(path, expert);
        using var loaded = ExpertFile.Load(path);
        Assert.Equal(Bytes(expert.Snapshots), Bytes(loaded.Snapshots));
        var (a, b) = (expert.Metadata, loaded.Metadata);
        Assert.Equal(a with { EpochLoss = b.EpochLoss }, b);
        Assert.Equal(a.EpochLoss, b.EpochLoss);
        Assert.Equal(3, loaded.Epochs);
        using var row = loaded.Snapshot(2);
        Assert.Equal(new long[] { 1000 }, row.shape);
        Assert.True(row.equal(expert.Snapshots[2]).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => loaded.Snapshot(4));
        Assert.Equal(a, ExpertFile.ReadMetadata(path) with { EpochLoss = a.EpochLoss });
    }

    [Theory]
    [InlineData("magic", "wrong magic")]
    [InlineData("truncated", "truncated")]
    [InlineData("tiny", "truncated")]
    [InlineData("trailing", "trailing bytes")]
    [InlineData("checksum", "checksum")]
    [InlineData("header", "corrupt")]
    [InlineData("empty", "truncated")]
    public void DamagedFile_IsAUserError(string damage, string expected)
    {
        using var dir = new TestData.TempDir();
        using var expert = Synthetic();
        var path = dir.File("e.m4e");
        ExpertFile.Save(path, expert);
        var bytes = File.ReadAllBytes(path);
        int headerEnd = 12 + BitConverter.ToInt32(bytes, 8);
        bytes = damage switch
        {
            "magic" => [.. "M4DDEXP2"u8, .. bytes[8..]],
            "truncated" => bytes[..^100],
            "tiny" => bytes[..20],
            "trailing" => [.. bytes, 0],
            "checksum" => Flip(bytes, headerEnd + 1234),
            "header" => Flip(bytes, 13),
            _ => [],
        };
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<UserError>(() => ExpertFile.Load(path));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x5A;
        return copy;
    }

    [Fact]
    public void Training_RecordsInitAndEveryEpoch_AndLearns()
    {
        using var data = Split(256);
        using var images = data.Train.Floats(data.Normalization);
        var options = new ExpertOptions { NumExperts = 1, Epochs = 2, BatchSize = 32, Seed = 4 };
        var lines = new List<string>();
        using var expert = ExpertTraining.Train(data, images, "ConvNet", options, 1, lines.Add);

        var net = NetRegistry.Build("ConvNet", Mnist28, 10);
        Assert.Equal(new[] { 3, net.ParameterCount }, expert.Snapshots.shape);
        using (var init = net.Initialize(Rng.Torch(4, 100_001)))
        using (var flat = FlatParameters.Flatten(init.Parameters))
        using (var first = expert.Snapshot(0))
            Assert.True(first.equal(flat.detach()).all().item<bool>());
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            using var before = expert.Snapshot(epoch - 1);
            using var after = expert.Snapshot(epoch);
            Assert.False(before.equal(after).all().item<bool>(), $"epoch {epoch} changed nothing");
        }
        var m = expert.Metadata;
        Assert.True(m.EpochLoss[1] < m.EpochLoss[0], $"loss went {m.EpochLoss[0]:F4} → {m.EpochLoss[1]:F4}");
        Assert.Equal(("mnist", "ConvNet", 1, 4L, Dsa.NoFlip), (m.Dataset, m.Arch, m.ExpertIndex, m.Seed, m.DsaStrategy));
        Assert.Null(m.TestAccuracy);
        Assert.Equal(2, lines.Count(line => line.Contains("loss")));
    }

    [Theory]
    [InlineData("ConvNet")]
    [InlineData("ConvNetBN")]   // running statistics are part of what continues
    public void StoppedExpert_ContinuesFromItsLastEpoch_ToTheSameBytes(string arch)
    {
        using var dir = new TestData.TempDir();
        using var data = Split(192);
        using var images = data.Train.Floats(data.Normalization);
        using var test = data.Test.Floats(data.Normalization);
        var options = new ExpertOptions { NumExperts = 1, Epochs = 3, BatchSize = 32, Seed = 2 };
        using var straight = ExpertTraining.Train(data, images, arch, options, 0, _ => { }, test);

        var path = dir.File("partial_0000.m4e");
        using var stop = new CancellationTokenSource();
        var first = new List<string>();
        void StopAfterEpoch2(string line) { first.Add(line); if (line.Contains("epoch 2/3")) stop.Cancel(); }
        var stopped = Assert.Throws<RunStoppedException>(() =>
            ExpertTraining.Train(data, images, arch, options, 0, StopAfterEpoch2, saving: new(path, TimeSpan.FromHours(1), stop.Token)));
        Assert.Contains("after epoch 2 of 3", stopped.Message);
        Assert.Equal(2, ExpertFile.ReadMetadata(path).Epochs);
        Assert.DoesNotContain(first, line => line.Contains("epoch 3/3"));

        var second = new List<string>();
        using var continued = ExpertTraining.Train(data, images, arch, options, 0, second.Add, test, new(path, TimeSpan.FromHours(1)));
        Assert.Contains(second, line => line.Contains("continuing after epoch 2 of 3"));
        Assert.Equal(["expert 0: epoch 3/3"], second.Where(line => line.Contains("loss")).Select(line => line[..line.IndexOf("  loss")]));
        Assert.Equal(Bytes(straight.Snapshots), Bytes(continued.Snapshots));
        Assert.Equal(straight.Metadata.EpochLoss, continued.Metadata.EpochLoss);
        Assert.Equal(straight.Metadata.TestAccuracy, continued.Metadata.TestAccuracy);   // eval mode: ConvNetBN's running statistics
    }

    [Fact]
    public void PartialExpert_OfOtherOptions_IsIgnored_AndTheExpertStartsOver()
    {
        using var dir = new TestData.TempDir();
        using var data = Split(128);
        using var images = data.Train.Floats(data.Normalization);
        var options = new ExpertOptions { NumExperts = 1, Epochs = 2, BatchSize = 32, Seed = 2 };
        var path = dir.File("partial_0000.m4e");
        var everyEpoch = new ExpertTraining.PartialSaving(path, TimeSpan.Zero);
        using (ExpertTraining.Train(data, images, "ConvNet", options with { Seed = 3, Epochs = 1 }, 0, _ => { }, saving: everyEpoch)) { }
        Assert.Equal(1, ExpertFile.ReadMetadata(path).Epochs);

        var lines = new List<string>();
        using var expert = ExpertTraining.Train(data, images, "ConvNet", options, 0, lines.Add, saving: everyEpoch);
        Assert.Contains(lines, line => line.Contains("ignoring partial_0000.m4e: it was trained with other options"));
        using var fresh = ExpertTraining.Train(data, images, "ConvNet", options, 0, _ => { });
        Assert.Equal(Bytes(fresh.Snapshots), Bytes(expert.Snapshots));
    }

    [Fact]
    public void Store_StoppedDuringAnExpert_ContinuesIt_AndLeavesNoPartialFiles()
    {
        using var dir = new TestData.TempDir();
        using var data = Split(128);
        var store = dir.File("store");
        var options = Tiny(1, epochs: 2);
        ExpertStore.RunAll(data, "ConvNet", options, dir.File("straight"), Shard.All, _ => { });

        using var stop = new CancellationTokenSource();
        Assert.Throws<RunStoppedException>(() => ExpertStore.RunAll(data, "ConvNet", options, store, Shard.All,
            line => { if (line.Contains("epoch 1/2")) stop.Cancel(); }, stop.Token));
        Assert.Equal(["partial_0000.m4e", "partial_0000.state.safetensors", "store.json"],
            Directory.GetFiles(store).Select(Path.GetFileName).Order());

        var lines = new List<string>();
        ExpertStore.RunAll(data, "ConvNet", options, store, Shard.All, lines.Add);
        Assert.Contains(lines, line => line.EndsWith("1 to train (continuing expert 0 from part-way)"));
        Assert.Equal(["expert_0000.m4e", "store.json"], Directory.GetFiles(store).Select(Path.GetFileName).Order());
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("straight"), "expert_0000.m4e")),
            File.ReadAllBytes(Path.Combine(store, "expert_0000.m4e")));
    }

    [Fact]
    public void Store_ResumesOnlyTheMissingExpert_AndLoadsChecked()
    {
        using var dir = new TestData.TempDir();
        using var data = Split(128);
        var store = dir.File("store");
        var first = ExpertStore.RunAll(data, "ConvNet", Tiny(), store, Shard.All, _ => { });
        Assert.Equal([0, 1], first.Trained);
        var kept = File.ReadAllBytes(Path.Combine(store, "expert_0000.m4e"));
        var removed = Path.Combine(store, "expert_0001.m4e");
        var original = File.ReadAllBytes(removed);
        File.Delete(removed);

        var lines = new List<string>();
        var second = ExpertStore.RunAll(data, "ConvNet", Tiny(), store, Shard.All, lines.Add);
        Assert.Equal([1], second.Trained);
        Assert.Equal([0], second.Skipped);
        Assert.Contains(lines, line => line.StartsWith("expert 1: training"));
        Assert.DoesNotContain(lines, line => line.StartsWith("expert 0:"));
        Assert.Equal(kept, File.ReadAllBytes(Path.Combine(store, "expert_0000.m4e")));
        Assert.Equal(original, File.ReadAllBytes(removed));   // same seed and index: the same expert again

        var net = NetRegistry.Build("ConvNet", Mnist28, 10);
        var experts = ExpertStore.LoadAll(store, net, "mnist");
        Assert.Equal([0, 1], experts.Select(e => e.Metadata.ExpertIndex));
        Assert.All(experts, e => Assert.NotNull(e.Metadata.TestAccuracy));
        foreach (var e in experts) e.Dispose();
        var otherData = Assert.Throws<UserError>(() => ExpertStore.LoadAll(store, net, "cifar10"));
        Assert.Contains("another network/dataset", otherData.Message);
        var otherNet = Assert.Throws<UserError>(() => ExpertStore.LoadAll(store, NetRegistry.Build("ConvNetD2", Mnist28, 10), "mnist"));
        Assert.Contains("another network/dataset", otherNet.Message);
    }

    [Theory]
    [InlineData("--train-epochs")]
    [InlineData("--lr-teacher")]
    [InlineData("--zca")]
    [InlineData("--arch")]
    [InlineData("--dataset")]
    public void Store_RefusesOtherOptions(string option)
    {
        using var dir = new TestData.TempDir();
        using var data = Split(64);
        var store = dir.File("store");
        // Shard 1/2 of one expert selects nothing: the store is created without training.
        var nothing = new Shard(1, 2);
        ExpertStore.RunAll(data, "ConvNet", Tiny(1), store, nothing, _ => { });
        var options = Tiny(1);
        var arch = "ConvNet";
        using var other = new DataSplit("fashionmnist", TestData.Slice(data.Train, 64), TestData.Slice(data.Test, 10), data.Normalization);
        var split = data;
        switch (option)
        {
            case "--train-epochs": options = options with { Epochs = 2 }; break;
            case "--lr-teacher": options = options with { LearningRate = 0.02 }; break;
            case "--zca": options = options with { Zca = true }; break;
            case "--arch": arch = "ConvNetW32"; break;
            default: split = other; break;
        }
        var error = Assert.Throws<UserError>(() => ExpertStore.RunAll(split, arch, options, store, nothing, _ => { }));
        Assert.Contains($"made with {option}", error.Message);
        // More experts with the same options extend the store.
        ExpertStore.RunAll(data, "ConvNet", Tiny(3), store, new Shard(999, 1000), _ => { });
        Assert.Contains("\"num_experts\": 3", File.ReadAllText(Path.Combine(store, ExpertStore.ConfigFileName)));
    }

    [Fact]
    public void Store_TrainsOnlyItsShard_WithZca()
    {
        using var dir = new TestData.TempDir();
        using var data = Split(64);
        var store = dir.File("store");
        var summary = ExpertStore.RunAll(data, "ConvNet", Tiny(3) with { Zca = true }, store, Shard.Parse("1/2"), _ => { });
        Assert.Equal([1], summary.Trained);
        Assert.Equal(["expert_0001.m4e", "store.json", "zca.bin"], Directory.GetFiles(store).Select(Path.GetFileName).Order());
        Assert.True(ExpertFile.ReadMetadata(Path.Combine(store, "expert_0001.m4e")).Zca);
    }

    [Fact]
    public void OneSplitOrAFewImages_AreWhitenedAsTheWholePairIs_FittingTheZcaOnTheTrainingImagesWhenAbsent()
    {
        using var scope = NewDisposeScope();
        using var dir = new TestData.TempDir();
        using var data = Split(256);
        // Two stores without zca.bin: one fitted by the pair form, one by the single-split form.
        var pairStore = dir.File("pair");
        var splitStore = dir.File("split");
        Directory.CreateDirectory(pairStore);
        Directory.CreateDirectory(splitStore);
        var (train, test) = ExpertStore.PrepareImages(data, zca: true, pairStore, _ => { });
        var indices = tensor(new long[] { 5, 0, 200, 17 });
        var few = ExpertStore.PrepareImages(data, data.Train, zca: true, splitStore, _ => { }, indices);
        using (var fitted = Zca.Load(Path.Combine(splitStore, Zca.FileName))) Assert.Equal(256, fitted.FitCount);
        Assert.True(few.allclose(train.index_select(0, indices), rtol: 1e-5, atol: 1e-4));
        Assert.True(ExpertStore.PrepareImages(data, data.Test, zca: true, splitStore, _ => { }).allclose(test, rtol: 1e-5, atol: 1e-4));
        Assert.True(ExpertStore.PrepareImages(data, data.Test, zca: false, splitStore, _ => { })
            .equal(data.Test.Floats(data.Normalization)).all().item<bool>());
        Assert.True(train.abs().max().item<float>() > 1.5f, "whitened images leave [0, 1]");
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    [InlineData("4/4", -1, 0)]
    [InlineData("-1/2", -1, 0)]
    [InlineData("1/0", -1, 0)]
    [InlineData("1", -1, 0)]
    [InlineData("a/b", -1, 0)]
    public void Shard_ParsesIOverN(string text, int index, int count)
    {
        if (index < 0)
        {
            Assert.Throws<UserError>(() => Shard.Parse(text));
            return;
        }
        var shard = Shard.Parse(text);
        Assert.Equal((index, count), (shard.Index, shard.Count));
        Assert.Equal(Enumerable.Range(0, 12).Where(j => j % count == index), Enumerable.Range(0, 12).Where(shard.Contains));
    }

    [Fact]
    public void Options_NameTheBadOption()
    {
        Assert.Contains("--num-experts", Assert.Throws<UserError>(() => new ExpertOptions { NumExperts = 0 }.Validate()).Message);
        Assert.Contains("--train-epochs", Assert.Throws<UserError>(() => new ExpertOptions { Epochs = 0 }.Validate()).Message);
        Assert.Contains("--lr-teacher", Assert.Throws<UserError>(() => new ExpertOptions { LearningRate = double.NaN }.Validate()).Message);
        var train = new ExpertOptions().ToTrainOptions();
        Assert.Equal((50, 0.01, 0.0, 0.0, 256, -1),
            (train.Epochs, train.LearningRate, train.Momentum, train.WeightDecay, train.BatchSize, train.DecayAfterEpoch));
    }

    [Theory]
    [InlineData("--shard", "experts", "--shard", "2/2")]
    [InlineData("--train-epochs", "experts", "--train-epochs", "0")]
    [InlineData("unknown name", "experts", "--arch", "NoNet")]
    public void Cli_BadInput_ExitsTwo(string expected, params string[] args)
    {
        var (code, _, stderr) = Cli.CliTests.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(expected, stderr);
    }
}
