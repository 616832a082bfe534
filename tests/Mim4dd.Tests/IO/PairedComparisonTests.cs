using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Tests.IO;

public class PairedComparisonTests
{
    [Fact]
    public void Interval_IsTheMeanPlusMinusTTimesTheStandardError()
    {
        var d = PairedComparison.Interval([0.01, 0.02, 0.03, 0.04]);
        double sd = Math.Sqrt((0.015 * 0.015 * 2 + 0.005 * 0.005 * 2) / 3);
        Assert.Equal(0.025, d.Mean, 12);
        Assert.Equal(0.025 - 3.182 * sd / 2, d.Low, 12);
        Assert.Equal(0.025 + 3.182 * sd / 2, d.High, 12);
        Assert.True(double.IsNaN(PairedComparison.Interval([0.5]).Low));
    }

    [Fact]
    public void Difference_PrintsPointsWithASign_AndAZeroThatRoundsToZeroPlainly()
    {
        Assert.Equal("-0.09 [-0.18, 0.00] (n = 10)", new Difference(10, -0.0009, -0.0018, -0.00001).ToString());
        Assert.Equal("+0.12 [-0.30, +0.54] (n = 20)", new Difference(20, 0.0012, -0.0030, 0.0054).ToString());
    }

    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(9, 2.262)]
    [InlineData(19, 2.093)]
    [InlineData(40, 2.021)]
    [InlineData(1_000_000, 1.960)]
    public void T975_MatchesTheTable(int df, double t) => Assert.Equal(t, PairedComparison.T975(df), 3);

    [Fact]
    public void T975_FallsMonotonicallyTowardsTheNormalQuantile()
    {
        var values = Enumerable.Range(1, 300).Select(PairedComparison.T975).ToList();
        Assert.All(values.Zip(values.Skip(1)), p => Assert.True(p.Second <= p.First));
        Assert.InRange(PairedComparison.T975(50), 2.008, 2.010);   // t(0.975, 50) = 2.0086
    }

    [Fact]
    public void PairedCommand_ReportsPerPairAllNetsAndOverSeeds_AndRefusesAnOddList()
    {
        using var dir = new TestData.TempDir();
        string Run(string name, params double[] accuracies)
        {
            var path = dir.File(name);
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "evals.jsonl"),
                $"{{\"iteration\":5,\"accuracies\":["
                + $"{string.Join(",", accuracies.Select(a => a.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]}}\n");
            return path;
        }
        var pairs = new[] { Run("a0", 0.80, 0.82, 0.81), Run("b0", 0.81, 0.84, 0.81), Run("a1", 0.70, 0.71, 0.72),
            Run("b1", 0.71, 0.71, 0.74) };

        var (code, stdout, _) = Cli.CliTests.Run(["paired", .. pairs]);

        Assert.Equal(0, code);
        Assert.Contains("| a0 | b0 | 81.00 | 82.00 | +1.00", stdout);
        Assert.Contains("All nets, paired by evaluation seed: +1.00", stdout);
        Assert.Contains("(n = 6)", stdout);
        Assert.Contains("Over distillation seeds", stdout);
        (code, _, var stderr) = Cli.CliTests.Run(["paired", pairs[0]]);
        Assert.Equal(2, code);
        Assert.Contains("not pairs", stderr);
        Assert.Throws<UserError>(() => PairedComparison.Read(pairs[0], dir.Path));
    }
}
