using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>
/// One accuracy a run directory holds: a method's set on one evaluation network, as mean ± std over its nets; with the
/// set's summed MI lower bound in nats when `mim4dd mi` was run on it (mi.json), else null.
/// </summary>
public sealed record RunRow(string Run, string Method, string Dataset, int ImagesPerClass, string Arch, double Mean, double Std, int Nets,
    string Point, double Minutes, double? MiNats = null);

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
        var config = Path.Combine(directory, RunDirectory.ConfigName);
        if (!File.Exists(config))
            throw UserError.At(directory, "is not a run directory (no config.json)",
                "pass directories written by mim4dd coreset, distill or quickstart");
        try
        {
            var rows = new List<RunRow>();
            var results = Path.Combine(directory, RunDirectory.ResultsName);
            if (File.Exists(results)) rows.AddRange(Coreset(name, results));
            var evals = Path.Combine(directory, RunDirectory.EvalsName);
            if (File.Exists(evals)) rows.AddRange(Distillation(name, config, evals, Path.Combine(directory, RunDirectory.MetricsName)));
            var (method, dataset, ipc) = rows.Count > 0 ? (rows[0].Method, rows[0].Dataset, rows[0].ImagesPerClass) : Identity(config);
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

    /// <summary>A Markdown table of the rows, one per line.</summary>
    public static IEnumerable<string> Table(IEnumerable<RunRow> rows)
    {
        yield return "| run | method | dataset | IPC | arch | accuracy % | nets | point | time (min) | MI bound (nats) |";
        yield return "|---|---|---|---|---|---|---|---|---|---|";
        foreach (var r in rows.OrderBy(r => r.Dataset).ThenBy(r => r.ImagesPerClass).ThenBy(r => r.Arch).ThenBy(r => r.Method)
            .ThenBy(r => r.Run))
            yield return string.Create(CultureInfo.InvariantCulture,
                $"| {r.Run} | {r.Method} | {r.Dataset} | {r.ImagesPerClass} | {r.Arch} | {100 * r.Mean:F2} ± {100 * r.Std:F2} | "
                + $"{r.Nets} | {r.Point} | {r.Minutes:F1} | "
                + $"{(r.MiNats is { } mi ? mi.ToString("F3", CultureInfo.InvariantCulture) : "–")} |");
    }

    private static IEnumerable<RunRow> Coreset(string run, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        var c = root.GetProperty("Config");
        yield return new RunRow(run, c.GetProperty("Method").GetString()!, c.GetProperty("Dataset").GetString()!,
            c.GetProperty("ImagesPerClass").GetInt32(), c.GetProperty("Arch").GetString()!,
            root.GetProperty("Mean").GetDouble(), root.GetProperty("Std").GetDouble(), root.GetProperty("Accuracies").GetArrayLength(),
            $"E={c.GetProperty("Epochs").GetInt32()} {c.GetProperty("Augment").GetString()}",
            root.GetProperty("TotalSeconds").GetDouble() / 60);
    }

    private static IEnumerable<RunRow> Distillation(string run, string config, string evals, string metrics)
    {
        var (method, dataset, ipc) = Identity(config);
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
                $"{kind}, it {p.GetProperty("iteration").GetInt32()}", minutes);
    }

    private static IEnumerable<RunRow> CrossArchitecture(string run, string method, string dataset, int ipc, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var root = doc.RootElement;
        var lr = root.GetProperty("LearningRate").GetDouble();
        foreach (var r in root.GetProperty("results").EnumerateArray())
            yield return new RunRow(run, method, dataset, ipc, r.GetProperty("Arch").GetString()!, r.GetProperty("Mean").GetDouble(),
                r.GetProperty("Std").GetDouble(), r.GetProperty("Accuracies").GetArrayLength(),
                string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(file)}, lr {lr:G3}"),
                r.GetProperty("Seconds").GetDouble() / 60);
    }

    /// <summary>(method, dataset, IPC) from a distill config ({ distill: { method, dataset, options } })
    /// or a coreset one ({ Config: ... }).</summary>
    private static (string Method, string Dataset, int Ipc) Identity(string config)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(config));
        var root = doc.RootElement;
        if (root.TryGetProperty("distill", out var d))
            return (d.GetProperty("method").GetString()!, d.GetProperty("dataset").GetString()!,
                d.GetProperty("options").GetProperty("ImagesPerClass").GetInt32());
        var c = root.TryGetProperty("Config", out var inner) ? inner : root;
        return (c.GetProperty("Method").GetString()!, c.GetProperty("Dataset").GetString()!, c.GetProperty("ImagesPerClass").GetInt32());
    }
}
