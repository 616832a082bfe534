using Mim4dd.IO;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;

namespace Mim4dd.Tests.IO;

public class DiskSpaceTests
{
    [Fact]
    public void MoreThanTheDiskHolds_IsRefusedNamingTheFolderAndTheSizes()
    {
        using var dir = new TestData.TempDir();
        DiskSpace.Require(dir.Path, 1, "a byte");   // fits
        var e = Assert.Throws<UserError>(() => DiskSpace.Require(dir.Path, long.MaxValue / 4, "the outputs"));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("MB free", e.Message);
    }

    [Fact]
    public void AFolderThatCannotBeCreated_IsAUserError() =>
        Assert.Throws<UserError>(() => DiskSpace.Require("/proc/mim4dd-cannot-exist", 1, "anything"));

    [Fact]
    public void ExpertsThatWouldNotFit_ExitTwoBeforeTraining()
    {
        // 10⁶ experts × 51 snapshots × 317,706 float32 ≈ 65 TB: refused at once, nothing trained.
        using var dir = new TestData.TempDir();
        var data = Path.Combine(dir.Path, "data");
        TestData.WriteMnistSlice(data, 100, 20);
        var store = Path.Combine(dir.Path, "experts");
        var (code, _, stderr) = CliTests.Run("experts", "--dataset", "mnist", "--data-dir", data, "--num-experts", "1000000",
            "--train-epochs", "50", "--out", store);
        Assert.Equal(2, code);
        Assert.Contains("expert file(s) and one part-way copy need about", stderr);
        Assert.Empty(Directory.GetFiles(store, "expert_*"));
    }
}
