using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>A mean difference with its 95 % confidence interval (Student's t) over n paired values.</summary>
public sealed record Difference(int N, double Mean, double Low, double High)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{100 * Mean:+0.00;-0.00;0.00} [{100 * Low:+0.00;-0.00;0.00}, {100 * High:+0.00;-0.00;0.00}] (n = {N})");
}

/// <summary>
/// Two methods compared on the same evaluation networks: run pairs (base, other) made with the same seed, whose final
/// evaluations trained their i-th nets from the same initialisation and data order, so acc_other[i] − acc_base[i] isolates
/// the sets. Reports per pair, over all nets, and over the pairs (distillation seeds).
/// </summary>
public static class PairedComparison
{
    public sealed record Pair(string Base, string Other, double[] BaseAccuracies, double[] OtherAccuracies)
    {
        public double[] Differences => OtherAccuracies.Zip(BaseAccuracies, (o, b) => o - b).ToArray();
    }

    /// <summary>The final ConvNet accuracies per net of a distillation or coreset run directory.</summary>
    public static double[] FinalAccuracies(string run)
    {
        var evals = Path.Combine(run, RunDirectory.EvalsName);
        var results = Path.Combine(run, RunDirectory.ResultsName);
        if (File.Exists(evals))
        {
            var last = File.ReadLines(evals).Last(line => line.Trim().Length > 0);
            using var doc = JsonDocument.Parse(last);
            return doc.RootElement.GetProperty("accuracies").EnumerateArray().Select(a => a.GetDouble()).ToArray();
        }
        if (File.Exists(results))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(results));
            return doc.RootElement.GetProperty("Accuracies").EnumerateArray().Select(a => a.GetDouble()).ToArray();
        }
        throw UserError.At(run, "holds no evaluation (no evals.jsonl or results.json)", "let the run finish, or pass finished runs");
    }

    public static Pair Read(string baseRun, string otherRun)
    {
        var b = FinalAccuracies(baseRun);
        var o = FinalAccuracies(otherRun);
        if (b.Length != o.Length)
            throw UserError.At(otherRun, $"has {o.Length} evaluation nets but {baseRun} has {b.Length}",
                "evaluate both with the same --eval-repeats and seed");
        return new Pair(baseRun, otherRun, b, o);
    }

    /// <summary>Mean and 95 % interval of the values (t with n − 1 degrees of freedom); an interval needs n ≥ 2.</summary>
    public static Difference Interval(IReadOnlyList<double> values)
    {
        int n = values.Count;
        double mean = values.Average();
        if (n < 2) return new Difference(n, mean, double.NaN, double.NaN);
        double sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double half = T975(n - 1) * sd / Math.Sqrt(n);
        return new Difference(n, mean, mean - half, mean + half);
    }

    /// <summary>The 0.975 quantile of Student's t (two-sided 95 %): exact table to 30 degrees of freedom, then
    /// interpolated in 1/df between 30, 40, 60, 120 and ∞ (error below 0.001).</summary>
    public static double T975(int df)
    {
        double[] table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
            2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];
        if (df < 1) throw new ArgumentOutOfRangeException(nameof(df));
        if (df <= 30) return table[df - 1];
        (double Df, double T)[] knots = [(30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980), (double.PositiveInfinity, 1.960)];
        for (int i = 1; i < knots.Length; i++)
            if (df <= knots[i].Df)
            {
                double x = 1.0 / df, x0 = 1 / knots[i - 1].Df, x1 = 1 / knots[i].Df;
                return knots[i - 1].T + (knots[i].T - knots[i - 1].T) * (x - x0) / (x1 - x0);
            }
        return 1.960;
    }

    /// <summary>The Markdown report: one row per pair, then all nets together, then the pairs' means as the unit.</summary>
    public static IEnumerable<string> Table(IReadOnlyList<Pair> pairs)
    {
        yield return "| base | other | base % | other % | other − base, points [95 % CI] |";
        yield return "|---|---|---|---|---|";
        foreach (var p in pairs)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"| {Path.GetFileName(Path.TrimEndingDirectorySeparator(p.Base))} | "
                + $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(p.Other))} | "
                + $"{100 * p.BaseAccuracies.Average():F2} | {100 * p.OtherAccuracies.Average():F2} | {Interval(p.Differences)} |");
        yield return "";
        yield return $"All nets, paired by evaluation seed: {Interval(pairs.SelectMany(p => p.Differences).ToList())} points.";
        if (pairs.Count >= 2)
            yield return $"Over distillation seeds (each pair's mean difference as one value): "
                + $"{Interval(pairs.Select(p => p.Differences.Average()).ToList())} points.";
    }
}
