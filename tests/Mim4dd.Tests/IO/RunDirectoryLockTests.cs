using Mim4dd.IO;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;
using Xunit;

namespace Mim4dd.Tests.IO;

public class RunDirectoryLockTests
{
    [Fact]
    public void ASecondWriter_StopsWithExitTwo_AndTheDirectoryIsFreeOnceTheFirstLetsGo()
    {
        using var dir = new TestData.TempDir();
        var run = System.IO.Path.Combine(dir.Path, "run");
        Directory.CreateDirectory(run);
        // Another process's lock, as a running `mim4dd distill` holds it (a separate open file description).
        using (new FileStream(System.IO.Path.Combine(run, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var (code, _, stderr) = CliTests.Run("coreset", "--dataset", "mnist", "--ipc", "1", "--epochs", "1", "--repeats", "1",
                "--out", run);
            Assert.Equal(2, code);
            Assert.Contains("is in use by another running mim4dd process", stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            var error = Assert.Throws<UserError>(() => new RunDirectory(run).Claim());
            Assert.Contains(run, error.Message);
        }
        var claimed = new RunDirectory(run).Claim();
        Assert.Same(claimed, claimed.Claim());
        new RunDirectory(run).Claim();   // the same process may open its own run again (in-process resume)
        Assert.False(File.Exists(System.IO.Path.Combine(run, "results.json")));
    }
}
