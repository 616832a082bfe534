using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>
/// One accuracy a run directory holds: a method's set on one evaluation network, as mean ± std over its nets; with the
/// set's summed MI lower bound in nats when `mim4dd mi` was run on it (mi.json), else null. <paramref name="Labels"/>:
/// what the nets trained on (hard or soft); <paramref name="Epochs"/>: the evaluation's E (null where unknown);
/// IPC 0 is a full-data `train` run.
/// </summary>
public sealed record RunRow(string Run, string Method, string Dataset, int ImagesPerClass, string Arch, double Mean, double Std, int Nets,
    string Point, double Minutes, double? MiNats = null, string Labels = "hard", int? Epochs = null)
{
    /// <summary>DD-Ranking's metrics for this row, where its counterparts exist (<see cref="LabelRobust"/>).</summary>
    public LabelRobust.Scores? Robust { get; init; }
}

/// <summary>
/// Reads what `coreset`, `distill` and `eval` wrote into a run directory (results.json, evals.jsonl, metrics.jsonl,
/// eval*.json) back as rows for a comparison table. Distillation runs give their final evaluation and, when it
/// differs, the best one (MTT reports the best evaluation point).
/// </summary>
public static class RunSummary
{
    /// <summary>The run's rows; none while it holds no evaluation yet (a run still distilling, or never evaluated).</summary>
    public static IReadOnlyList<RunRow> Read(string directory)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
        if (FullData(name, Path.Combine(directory, RunDirectory.ResultsName)) is { } full) return [full];
        if (TrainingUnderWay(directory)) return [];
        var own = ReadOwn(directory, name);
        // The random baseline of `eval RUN --random` lives inside the run, as RUN/random.
        var baseline = Path.Combine(directory, Mim4dd.Coreset.RandomBaseline.FolderName);
        return File.Exists(Path.Combine(baseline, RunDirectory.ConfigName))
            ? [.. own, .. ReadOwn(baseline, $"{name}/{Mim4dd.Coreset.RandomBaseline.FolderName}")]
            : own;
    }

    /// <summary>A `train` run's full-data accuracy as a row (IPC 0), or null for any other run.</summary>
    private static RunRow? FullData(string run, string results)
    {
        if (!File.Exists(results)) return null;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(results)); }
        catch (JsonException) { return null; }   // the run's own reader says what is wrong with it
        using var _ = doc;
        if (!doc.RootElement.TryGetProperty("result", out var r) || !r.TryGetProperty("TestAccuracy", out var accuracy)) return null;
        int epochs = r.GetProperty("Epochs").GetInt32();
        return new RunRow(run, "full data", r.GetProperty("Dataset").GetString()!, 0, r.GetProperty("Arch").GetString()!,
            accuracy.GetDouble(), 0, 1, $"train, E={epochs}", r.TryGetProperty("Seconds", out var sec) ? sec.GetDouble() / 60 : 0,
            Epochs: epochs);
    }

    /// <summary>A `train` run that has not finished: its config.json says so, it has no results yet.</summary>
    private static bool TrainingUnderWay(string directory)
    {
        var config = Path.Combine(directory, RunDirectory.ConfigName);
        if (!File.Exists(config)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            return doc.RootElement.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String
                && c.GetString() == "train";
        }
        catch (JsonException) { return false; }
    }

    private static IReadOnlyList<RunRow> ReadOwn(string directory, string name)
    {
        var config = Path.Combine(directory, RunDirectory.ConfigName);
        if (!File.Exists(config))
            throw UserError.At(directory, "is not a run directory (no config.json)",
                "pass directories written by mim4dd coreset, distill or quickstart");
        try
        {
            var rows = new List<RunRow>();
            var results = Path.Combine(directory, RunDirectory.ResultsName);
            if (File.Exists(results)) rows.AddRange(Coreset(name, results));
            var set = SetOf(config);
            var evals = Path.Combine(directory, RunDirectory.EvalsName);
            if (File.Exists(evals)) rows.AddRange(Distillation(name, set, evals, Path.Combine(directory, RunDirectory.MetricsName)));
            var (method, dataset, ipc) = rows.Count > 0 ? (rows[0].Method, rows[0].Dataset, rows[0].ImagesPerClass)
                : (set.Method, set.Dataset, set.Ipc);
            foreach (var extra in Directory.EnumerateFiles(directory, "eval*.json").Order(StringComparer.Ordinal))
                rows.AddRange(CrossArchitecture(name, method, dataset, ipc, extra));
            var mi = Path.Combine(directory, RunDirectory.MiName);
            if (!File.Exists(mi)) return rows;
            using var estimate = JsonDocument.Parse(File.ReadAllText(mi));
            double total = estimate.RootElement.GetProperty("total").GetDouble();
            return rows.Select(r => r with { MiNats = total }).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw UserError.At(directory, $"has a result file that cannot be read ({e.Message.Split('\n')[0]})",
                "re-run the evaluation, or leave this run out");
        }
    }

    /// <summary>A Markdown table of the rows, one per line, with DD-Ranking's IOR, HLR and LRS (fractions) where the rows'
    /// counterparts are among them (<see cref="LabelRobust"/>).</summary>
    public static IEnumerable<string> Table(IEnumerable<RunRow> rows)
    {
        yield return "| run | method | dataset | IPC | arch | labels | accuracy % | nets | point | time (min) | MI bound (nats) "
            + "| IOR | HLR | LRS |";
        yield return "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
        foreach (var r in LabelRobust.Apply(rows.ToList()).OrderBy(r => r.Dataset).ThenBy(r => r.ImagesPerClass).ThenBy(r => r.Arch)
            .ThenBy(r => r.Method).ThenBy(r => r.Run))
            yield return string.Create(CultureInfo.InvariantCulture,
                $"| {r.Run} | {r.Method} | {r.Dataset} | {(r.ImagesPerClass == 0 ? "all" : r.ImagesPerClass)} | {r.Arch} | {r.Labels} "
                + $"| {Accuracy(r)} | {r.Nets} | {r.Point} | {r.Minutes:F1} | {Cell(r.MiNats, "F3")} "
                + $"| {Cell(r.Robust?.Ior, "+0.000;-0.000")} | {Cell(r.Robust?.Hlr, "+0.000;-0.000")} | {Cell(r.Robust?.Lrs, "F3")} |");
    }

    // One net (a full-data training) has no spread to show.
    private static string Accuracy(RunRow r) =>
        r.Nets == 1 ? FormattableString.Invariant($"{100 * r.Mean:F2}")
            : FormattableString.Invariant($"{100 * r.Mean:F2} ± {100 * r.Std:F2}");

    private static string Cell(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static IEnumerable<RunRow> Coreset(string run, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        var c = root.GetProperty("Config");
        yield return new RunRow(run, c.GetProperty("Method").GetString()!, c.GetProperty("Dataset").GetString()!,
            c.GetProperty("ImagesPerClass").GetInt32(), c.GetProperty("Arch").GetString()!,
            root.GetProperty("Mean").GetDouble(), root.GetProperty("Std").GetDouble(), root.GetProperty("Accuracies").GetArrayLength(),
            $"E={c.GetProperty("Epochs").GetInt32()} {c.GetProperty("Augment").GetString()}",
            root.GetProperty("TotalSeconds").GetDouble() / 60, Epochs: c.GetProperty("Epochs").GetInt32());
    }

    private static IEnumerable<RunRow> Distillation(string run, ConfigSet set, string evals, string metrics)
    {
        var (method, dataset, ipc, epochs) = set;
        var points = File.ReadLines(evals).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        if (points.Count == 0) yield break;
        double distilSeconds = File.Exists(metrics)
            ? File.ReadLines(metrics).Where(l => l.Length > 0)
                .Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("seconds").GetDouble())
            : 0;
        double evalSeconds = points.Sum(p => p.GetProperty("seconds").GetDouble());
        double minutes = (distilSeconds + evalSeconds) / 60;
        var last = points[^1];
        yield return Point(last, "final");
        var best = points.MaxBy(p => p.GetProperty("mean").GetDouble())!;
        if (best.GetProperty("iteration").GetInt32() != last.GetProperty("iteration").GetInt32()) yield return Point(best, "best");

        RunRow Point(JsonElement p, string kind) =>
            new(run, method, dataset, ipc, p.GetProperty("arch").GetString()!, p.GetProperty("mean").GetDouble(),
                p.GetProperty("std").GetDouble(), p.GetProperty("accuracies").GetArrayLength(),
                $"{kind}, it {p.GetProperty("iteration").GetInt32()}", minutes, Labels: LabelsOf(p), Epochs: epochs);
    }

    /// <summary>"hard" or "soft" as an evaluation recorded it (records from before soft labels are hard).</summary>
    internal static string LabelsOf(JsonElement e) => e.TryGetProperty("labels", out var l) ? l.GetString()! : "hard";

    private static IEnumerable<RunRow> CrossArchitecture(string run, string method, string dataset, int ipc, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        var lr = root.GetProperty("LearningRate").GetDouble();
        var (labels, epochs) = (LabelsOf(root), root.GetProperty("Epochs").GetInt32());
        foreach (var r in root.GetProperty("results").EnumerateArray())
            yield return new RunRow(run, method, dataset, ipc, r.GetProperty("Arch").GetString()!, r.GetProperty("Mean").GetDouble(),
                r.GetProperty("Std").GetDouble(), r.GetProperty("Accuracies").GetArrayLength(),
                string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(file)}, lr {lr:G3}"),
                r.GetProperty("Seconds").GetDouble() / 60, Labels: labels, Epochs: epochs);
    }

    /// <summary>What a run's config.json says of its set: method, dataset and IPC, from a distill config ({ distill: { method,
    /// dataset, options } }) or a coreset one ({ Config: ... }), and the evaluation epochs E (schedule.EvalEpochs; null if
    /// absent).</summary>
    private sealed record ConfigSet(string Method, string Dataset, int Ipc, int? EvalEpochs);

    private static ConfigSet SetOf(string config)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(config));
        var root = doc.RootElement;
        int? epochs = root.TryGetProperty("schedule", out var s) && s.TryGetProperty("EvalEpochs", out var e) ? e.GetInt32() : null;
        if (root.TryGetProperty("distill", out var d))
            return new(MethodOf(d), d.GetProperty("dataset").GetString()!,
                d.GetProperty("options").GetProperty("ImagesPerClass").GetInt32(), epochs);
        var c = root.TryGetProperty("Config", out var inner) ? inner : root;
        return new(c.GetProperty("Method").GetString()!, c.GetProperty("Dataset").GetString()!, c.GetProperty("ImagesPerClass").GetInt32(),
            epochs);
    }

    // A method run with `--mim` is another row than the method alone: "datm+mim", as config.json names it since
    // trajectory methods say so there too (mim4dd is MTT + MIM by name); older records name the method alone.
    private static string MethodOf(JsonElement distill)
    {
        var method = distill.GetProperty("method").GetString()!;
        bool mim = distill.TryGetProperty("mim", out var m) && m.ValueKind == JsonValueKind.Object
            && m.TryGetProperty("Enabled", out var on) && on.GetBoolean();
        return mim && method != "mim4dd" && !method.EndsWith("+mim", StringComparison.Ordinal) ? method + "+mim" : method;
    }
}
