using Mim4dd.IO;

namespace Mim4dd.Tests.IO;

public class RankCorrelationTests
{
    [Fact]
    public void Ranks_ShareTheMeanRankAmongTies()
    {
        Assert.Equal([3.5, 1, 3.5, 2], RankCorrelation.Ranks([5, 1, 5, 3]));
    }

    [Fact]
    public void Spearman_MatchesAHandComputedExample()
    {
        // Ten pairs without ties: Σd² = 194, so ρ = 1 − 6·194 / (10·99) = −29/165.
        double[] x = [86, 97, 99, 100, 101, 103, 106, 110, 112, 113];
        double[] y = [2, 20, 28, 27, 50, 29, 7, 17, 6, 12];
        Assert.Equal(-29.0 / 165, RankCorrelation.Spearman(x, y), 12);
        Assert.Equal(1, RankCorrelation.Spearman(x, x.Select(v => Math.Exp(v / 10)).ToArray()), 12);   // monotone: ranks only
        Assert.Equal(-1, RankCorrelation.Spearman(x, x.Select(v => -v).ToArray()), 12);
        Assert.True(double.IsNaN(RankCorrelation.Spearman(x, x.Select(_ => 1.0).ToArray())));
    }

    [Fact]
    public void Lines_RankEachDatasetAndIpcApart_OnEachRunsFirstRow()
    {
        RunRow Row(string run, int ipc, double accuracy, double? mi, string point = "final") =>
            new(run, "mtt", "cifar10", ipc, "ConvNet", accuracy, 0.01, 5, point, 1, mi);
        var rows = new[]
        {
            Row("a", 10, 0.30, 1.0), Row("b", 10, 0.40, 3.0), Row("c", 10, 0.50, 2.0), Row("c", 10, 0.90, 2.0, "best"),
            Row("d", 1, 0.2, 1.0), Row("e", 1, 0.3, 2.0), Row("f", 10, 0.6, null),
        };
        var line = Assert.Single(RankCorrelation.Lines(rows));   // IPC 1 has two sets only
        Assert.StartsWith("cifar10 IPC 10: Spearman's ρ between accuracy and MI bound +0.50 over 3 sets", line);
    }
}
