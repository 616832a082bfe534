using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;

namespace Mim4dd.Tests.Interop;

/// <summary>Sweep grids and `slurm sweep --dry-run`: the script runs each point's flags with its own --out.</summary>
public class SweepTests
{
    [Fact]
    public void Csv_And_Json_GiveThePointsFlags_AnEmptyCellLeavingTheFlagOut()
    {
        using var dir = new TestData.TempDir();
        File.WriteAllText(dir.File("g.csv"), "name,mim-balance,lambda,tau\n# a comment\nlam0.2,0,0.2,\ntau0.5,,,0.5\n");
        File.WriteAllText(dir.File("g.json"),
            """[{"name": "lam0.2", "mim-balance": 0, "lambda": 0.2}, {"name": "tau0.5", "tau": "0.5"}]""");
        foreach (var file in new[] { "g.csv", "g.json" })
        {
            var points = SweepGrid.Read(dir.File(file));
            Assert.Equal(["lam0.2", "tau0.5"], points.Select(p => p.Name));
            Assert.Equal(["--mim-balance", "0", "--lambda", "0.2"], points[0].Flags);
            Assert.Equal(["--tau", "0.5"], points[1].Flags);
        }
    }

    [Theory]
    [InlineData("name,tau\nbad/name,0.5\n", "not a plain folder name")]
    [InlineData("name,tau\na,0.5\na,0.2\n", "two points are named a")]
    [InlineData("tau,name\n0.5,a\n", "the first line must be the header")]
    [InlineData("name,tau\na\n", "row 2 has 1 cells")]
    public void BadGrid_IsAUserErrorNamingWhatIsWrong(string csv, string expected)
    {
        using var dir = new TestData.TempDir();
        File.WriteAllText(dir.File("g.csv"), csv);
        var error = Assert.Throws<UserError>(() => SweepGrid.Read(dir.File("g.csv")));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void DryRun_WritesOneTaskPerPoint_AndRefusesAFlagTheMethodDoesNotRead()
    {
        using var dir = new TestData.TempDir();
        File.WriteAllText(dir.File("g.csv"), "name,mim-balance,lambda\nlam0.2,0,0.2\nlam0.4,0,0.4\n");
        var (code, stdout, stderr) = CliTests.Run("slurm", "sweep", dir.File("g.csv"), "--root", dir.File("runs"), "--dry-run",
            "--logs", dir.File("logs"), "--time", "1:00:00", "--", "distill", "mim4dd", "--preset", "mnist-ipc1");
        Assert.True(code == 0, stderr);
        var script = File.ReadAllText(dir.File("logs/mim4dd-sweep.sbatch"));
        Assert.Contains("#SBATCH --array=0-1", script);
        Assert.Contains("#SBATCH --time=1:00:00", script);
        Assert.Contains($"--lambda 0.4 --out {dir.File("runs/lam0.4")} --resume", script);
        Assert.Contains(script, stdout);
        (code, _, stderr) = CliTests.Run("slurm", "sweep", dir.File("g.csv"), "--dry-run", "--logs", dir.File("logs2"), "--",
            "distill", "dm", "--syn-steps", "3");
        Assert.Equal(2, code);
        Assert.Contains("does not read it", stderr);
        Assert.False(Directory.Exists(dir.File("logs2")));
    }
}
