using System.Globalization;

namespace Mim4dd.IO;

/// <summary>
/// Does `mim4dd mi` order a dataset's sets as their evaluated accuracy does? Spearman's ρ between the two, per
/// dataset and IPC (sets of different size are not ranked together), one point per run: its final evaluation.
/// </summary>
public static class RankCorrelation
{
    /// <summary>Spearman's ρ: Pearson's correlation of the ranks, tied values sharing their mean rank. NaN when either
    /// side has no spread.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length");
        var (rx, ry) = (Ranks(x), Ranks(y));
        double mx = rx.Average(), my = ry.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Ranks 1..n in ascending order; a run of equal values gets the mean of the ranks it spans.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            for (int k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0 + 1;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>One line per dataset and IPC with at least three runs that have an MI bound.</summary>
    public static IEnumerable<string> Lines(IEnumerable<RunRow> rows)
    {
        var finals = rows.Where(r => r.MiNats is not null).GroupBy(r => r.Run).Select(g => g.First());
        foreach (var group in finals.GroupBy(r => (r.Dataset, r.ImagesPerClass)).Where(g => g.Count() >= 3).OrderBy(g => g.Key))
        {
            var sets = group.ToList();
            double rho = Spearman(sets.Select(r => r.Mean).ToList(), sets.Select(r => r.MiNats!.Value).ToList());
            yield return string.Create(CultureInfo.InvariantCulture,
                $"{group.Key.Dataset} IPC {group.Key.ImagesPerClass}: Spearman's ρ between accuracy and MI bound {rho:+0.00;−0.00} over "
                + $"{sets.Count} sets (1: the bound orders them as accuracy does; few sets give a wide spread by chance)");
        }
    }
}
