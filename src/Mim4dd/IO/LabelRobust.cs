namespace Mim4dd.IO;

/// <summary>
/// DD-Ranking's label-robust metrics (Li et al., 2025, "DD-Ranking: Rethinking the Evaluation of Dataset Distillation"),
/// accuracies as fractions: HLR = Acc(full data, hard labels) − Acc(the set, hard labels), how far the set's images alone
/// are from the real data; IOR = Acc(the set, its own labels) − Acc(a random real subset of its size, evaluated the same
/// way), what distillation adds over selection; α = w·IOR − (1 − w)·HLR with w = ½, and LRS = (e^α − e^−1) / (e − e^−1),
/// which maps α ∈ [−1, 1] to [0, 1]. Soft labels can lift a weak image set's accuracy; HLR sees through them.
/// </summary>
public static class LabelRobust
{
    /// <summary>Any of the three may be missing (null) when the run that gives it is not among the rows.</summary>
    public sealed record Scores(double? Ior, double? Hlr, double? Lrs);

    /// <summary>DD-Ranking's default weight of IOR against HLR.</summary>
    public const double Weight = 0.5;

    public static double Lrs(double ior, double hlr, double weight = Weight)
    {
        double alpha = weight * ior - (1 - weight) * hlr;
        return (Math.Exp(alpha) - Math.Exp(-1)) / (Math.E - Math.Exp(-1));
    }

    /// <summary>
    /// The rows with their scores: IOR against RUN/random (`eval RUN --random`) on the same network, labels and epochs;
    /// HLR against a full-data `train` run (IPC 0) of the same dataset and network, using the run's own hard-label row (a
    /// soft-label set's from `eval RUN --labels hard`).
    /// </summary>
    public static IEnumerable<RunRow> Apply(IReadOnlyList<RunRow> rows)
    {
        foreach (var r in rows)
        {
            if (!Scored(r))
            {
                yield return r;
                continue;
            }
            var random = Baselines(rows, r).FirstOrDefault(b => b.Epochs == r.Epochs);
            var full = rows.FirstOrDefault(f => f.ImagesPerClass == 0 && f.Dataset == r.Dataset && f.Arch == r.Arch);
            var hard = r.Labels == "hard" ? r
                : rows.FirstOrDefault(h => h.Run == r.Run && h.Arch == r.Arch && h.Labels == "hard" && h.Epochs == r.Epochs);
            double? ior = random is null ? null : r.Mean - random.Mean;
            double? hlr = full is null || hard is null ? null : full.Mean - hard.Mean;
            double? lrs = ior is { } i && hlr is { } h ? Lrs(i, h) : null;
            yield return ior is null && hlr is null ? r : r with { Robust = new Scores(ior, hlr, lrs) };
        }
    }

    /// <summary>Why a row whose run has a random baseline got no IOR: the baseline was trained for other epochs.</summary>
    public static IEnumerable<string> Notes(IReadOnlyList<RunRow> rows) =>
        rows.Where(r => Scored(r) && Baselines(rows, r).Any() && Baselines(rows, r).All(b => b.Epochs != r.Epochs))
            .Select(r => $"{r.Run}: its random baseline ({r.Arch}, {r.Labels} labels) was trained for other epochs than its "
                + $"{r.Epochs?.ToString() ?? "evaluation's"}, so IOR is left out; run `mim4dd eval {r.Run} --random"
                + (r.Epochs is { } e ? $" --epochs {e}`" : "`"))
            .Distinct();

    /// <summary>A distilled or selected set's final evaluation: not a full-data run, not a baseline, and not the best of
    /// several evaluation points (chosen on the test set, which would lift IOR).</summary>
    private static bool Scored(RunRow r) =>
        r.ImagesPerClass > 0 && !r.Run.EndsWith("/" + Coreset.RandomBaseline.FolderName, StringComparison.Ordinal)
        && !r.Point.StartsWith("best", StringComparison.Ordinal);

    private static IEnumerable<RunRow> Baselines(IReadOnlyList<RunRow> rows, RunRow r) =>
        rows.Where(b => b.Run == $"{r.Run}/{Coreset.RandomBaseline.FolderName}" && b.Arch == r.Arch && b.Labels == r.Labels);
}
