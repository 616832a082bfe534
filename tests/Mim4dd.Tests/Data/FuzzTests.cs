using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Tests.Distill;
using Mim4dd.Experts;
using Mim4dd.Tests.Experts;
using static Mim4dd.Tests.Data.ImageWriters;
using static Mim4dd.Tests.Data.NpyWriter;
using static Mim4dd.Tests.Data.TestFiles;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Data;

/// <summary>
/// Property tests: every reader, given a valid file damaged at random (cut short, or overwritten with random bytes
/// at a random place), either reads something or raises a <see cref="UserError"/> (one line, exit 2 at the CLI),
/// never another exception, a native crash or a hang.
/// </summary>
public sealed class FuzzTests
{
    private const int Cases = 150;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>A damage to apply: cut to <c>Cut</c> bytes, or write <c>Patch</c> at <c>At</c> (both modulo the length).</summary>
    public sealed record Damage(bool Truncate, int Cut, int At, byte[] Patch)
    {
        public byte[] Apply(byte[] valid)
        {
            if (Truncate) return valid.AsSpan(0, Math.Abs(Cut % valid.Length)).ToArray();
            var damaged = (byte[])valid.Clone();
            int at = Math.Abs(At % valid.Length);
            for (int i = 0; i < Patch.Length && at + i < damaged.Length; i++) damaged[at + i] = Patch[i];
            return damaged;
        }

        public override string ToString() =>
            Truncate ? $"cut to {Cut}" : $"{Patch.Length} bytes at {At}: {Convert.ToHexString(Patch.Take(16).ToArray())}";
    }

    public static class Damages
    {
        public static Arbitrary<Damage> Arbitrary() => ArbMap.Default.GeneratorFor<(bool, int, int, byte[])>()
            .Where(t => t.Item4 is { Length: > 0 } || t.Item1)
            .Select(t => new Damage(t.Item1, t.Item2, t.Item3, t.Item4 ?? []))
            .ToArbitrary();
    }

    /// <summary>Runs <paramref name="read"/> on the damaged bytes written to <paramref name="file"/> in a fresh copy of a valid
    /// layout.</summary>
    private static bool ReadsOrRefuses(Action<TempDirectory> writeValid, string file, Damage damage, Action<string> read)
    {
        TorchRuntime.Start();
        using var temp = new TempDirectory();
        writeValid(temp);
        var path = temp.File(file);
        File.WriteAllBytes(path, damage.Apply(File.ReadAllBytes(path)));
        var task = Task.Run(() =>
        {
            using var scope = NewDisposeScope();
            read(temp.Path);
        });
        try
        {
            if (!task.Wait(Limit)) throw new Xunit.Sdk.XunitException($"{file} with {damage}: no answer within {Limit.TotalSeconds} s");
        }
        catch (AggregateException e) when (e.InnerException is UserError error)
        {
            if (error.Message.Contains('\n'))
                throw new Xunit.Sdk.XunitException($"{file} with {damage}: the error spans lines: {error.Message}");
        }
        catch (AggregateException e)
        {
            throw new Xunit.Sdk.XunitException($"{file} with {damage}: {e.InnerException!.GetType().Name} instead of a UserError: "
                + $"{e.InnerException.Message}");
        }
        return true;
    }

    private static void LoadBoth(string dir)
    {
        var (train, test) = DataDirectory.Load(dir);
        train.Dispose();
        test.Dispose();
    }

    private static void WriteIdx(TempDirectory temp)
    {
        foreach (var (split, n) in new[] { ("train", 6), ("t10k", 3) })
        {
            using var images = tensor(Pattern(n * 28 * 28, n)).view(n, 28, 28);
            using var labels = tensor(Enumerable.Range(0, n).Select(i => (byte)(i % 3)).ToArray());
            Idx.Write(temp.File($"{split}-images-idx3-ubyte"), images);
            Idx.Write(temp.File($"{split}-labels-idx1-ubyte"), labels);
        }
    }

    private static void WriteCifarPickle(TempDirectory temp)
    {
        const int row = 3072;
        for (int batch = 1; batch <= 5; batch++)
            temp.Write($"data_batch_{batch}", PickleWriter.CifarBatch(Pattern(2 * row, batch), 2, row,
                new long[] { batch, (batch * 3) % 10 }));
        temp.Write("test_batch", PickleWriter.CifarBatch(Pattern(3 * row, 9), 3, row, new long[] { 3, 8, 0 }));
        temp.Write("batches.meta", PickleWriter.CifarMeta("label_names", Enumerable.Range(0, 10).Select(i => $"c{i}")));
    }

    private static void WriteImageFolder(TempDirectory temp)
    {
        foreach (var split in new[] { "train", "test" })
            for (int c = 0; c < 2; c++)
                temp.Write($"{split}/class{c}/img{c}.png", Png(5, 4, 3, Pattern(5 * 4 * 3, c + 1)));
    }

    private static void WriteNpz(TempDirectory temp)
    {
        foreach (var split in new[] { "train", "test" })
            temp.Write($"{split}.npz", NpzBytes(new[] { ("x", NpyBytes("|u1", new long[] { 3, 5, 4 }, Pattern(60, 3))),
                ("y", NpyBytes("<i8", new long[] { 3 }, Int64s(new long[] { 0, 1, 0 }))) }));
    }

    private static void WriteExpert(TempDirectory temp)
    {
        using var expert = ExpertTests.Synthetic(snapshots: 3, parameters: 50);
        ExpertFile.Save(temp.File("expert.m4e"), expert);
    }

    private static void WriteSet(TempDirectory temp)
    {
        using var images = randn(new long[] { 4, 1, 5, 5 }, generator: Rng.Torch(1));
        using var labels = tensor(new long[] { 0, 0, 1, 1 });
        using var lr = tensor(0.01f);
        using var state = new DistillState(images.clone(), labels.clone(), lr.clone(), 3);
        state.Save(temp.File("checkpoint.safetensors"), "hash");
    }

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool IdxImages(Damage damage) => ReadsOrRefuses(WriteIdx, "train-images-idx3-ubyte", damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool IdxLabels(Damage damage) => ReadsOrRefuses(WriteIdx, "t10k-labels-idx1-ubyte", damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool CifarPickleBatch(Damage damage) => ReadsOrRefuses(WriteCifarPickle, "data_batch_2", damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool CifarPickleMeta(Damage damage) => ReadsOrRefuses(WriteCifarPickle, "batches.meta", damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool ImageFolderPng(Damage damage) =>
        ReadsOrRefuses(WriteImageFolder, Path.Combine("train", "class1", "img1.png"), damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool NpzArchive(Damage damage) => ReadsOrRefuses(WriteNpz, "train.npz", damage, LoadBoth);

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool ExpertTrajectoryFile(Damage damage) =>
        ReadsOrRefuses(WriteExpert, "expert.m4e", damage, dir => ExpertFile.Load(Path.Combine(dir, "expert.m4e")).Dispose());

    [Property(MaxTest = Cases, Arbitrary = new[] { typeof(Damages) })]
    public bool Checkpoint(Damage damage) =>
        ReadsOrRefuses(WriteSet, "checkpoint.safetensors", damage, dir =>
            DistillState.Load(Path.Combine(dir, "checkpoint.safetensors"), "hash").Dispose());
}
