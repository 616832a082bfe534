using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>
/// One self-contained report.html (and a report.md with the numbers) for a distillation run directory: the evaluation table, loss parts,
/// image-gradient norm and learned lr per iteration as inline SVG charts, accuracy at every evaluation point, the synthetic images
/// (grid.png inlined) and the effective config. Reads only what the run wrote, so it can be rebuilt at any time.
/// </summary>
public static class RunReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Write(string directory)
    {
        var config = Path.Combine(directory, RunDirectory.ConfigName);
        var metricsFile = Path.Combine(directory, RunDirectory.MetricsName);
        if (!File.Exists(config))
            throw UserError.At(directory, "is not a distillation run directory (no config.json)",
                "pass a directory written by `mim4dd distill` or the quickstart");
        List<JsonElement> metrics, evals;
        try
        {
            // No metrics yet: a run with --iterations 0 (its initial set evaluated) or one killed before its first iteration.
            metrics = File.Exists(metricsFile) ? JsonLines(metricsFile) : [];
            var evalsFile = Path.Combine(directory, RunDirectory.EvalsName);
            evals = File.Exists(evalsFile) ? JsonLines(evalsFile) : [];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw UserError.At(directory, $"has a metrics file that cannot be read ({e.Message.Split('\n')[0]})",
                "re-run or --resume the distillation");
        }
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>mim4dd: ").Append(Encode(name)).Append("</title><style>")
            .Append("body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse}")
            .Append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}"
                + "pre{background:#f8f8f8;padding:1em;overflow:auto;font-size:12px}")
            .Append("svg{background:#fff;border:1px solid #ddd;margin:4px 0}</style></head><body>");
        html.Append("<h1>").Append(Encode(name)).Append("</h1>");
        html.Append("<p>").Append(metrics.Count.ToString(Invariant)).Append(" iterations, ")
            .Append((metrics.Sum(m => m.GetProperty("seconds").GetDouble()) / 60).ToString("F1", Invariant))
            .Append(" min of distillation; report written ")
            .Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Invariant)).Append(".</p>");

        html.Append("<h2>Evaluation</h2>");
        if (evals.Count == 0) html.Append("<p>No evaluation yet.</p>");
        else
        {
            html.Append("<table><tr><th>iteration</th><th>arch</th><th>labels</th><th>accuracy %</th><th>nets</th><th>minutes</th></tr>");
            foreach (var e in evals)
                html.Append("<tr><td>").Append(e.GetProperty("iteration").GetInt32()).Append("</td><td>")
                    .Append(Encode(e.GetProperty("arch").GetString()!)).Append("</td><td>")
                    .Append(RunSummary.LabelsOf(e))
                    .Append("</td><td>").Append((100 * e.GetProperty("mean").GetDouble()).ToString("F2", Invariant)).Append(" ± ")
                    .Append((100 * e.GetProperty("std").GetDouble()).ToString("F2", Invariant)).Append("</td><td>")
                    .Append(e.GetProperty("accuracies").GetArrayLength()).Append("</td><td>")
                    .Append((e.GetProperty("seconds").GetDouble() / 60).ToString("F1", Invariant)).Append("</td></tr>");
            html.Append("</table>");
            if (evals.Count > 1)
                html.Append(Chart("test accuracy % at each evaluation", [("accuracy",
                    evals.Select(e => (e.GetProperty("iteration").GetDouble(), 100 * e.GetProperty("mean").GetDouble())).ToList())]));
        }

        html.Append("<h2>Training curves</h2>");
        html.Append(Chart("loss per iteration", [
            ("total", Series(metrics, "loss")), ("match", Series(metrics, "match_loss")),
            ("add-on (MIM)", Series(metrics, "extra_loss"))]));
        html.Append(Chart("image-gradient norm", [("‖∇X‖", Series(metrics, "image_grad_norm"))]));
        if (LearnsLr(metrics)) html.Append(Chart("learned student lr", [("lr", Series(metrics, "lr"))]));
        AppendMim(html, metrics);

        var grid = Path.Combine(directory, "grid.png");
        html.Append("<h2>Synthetic images</h2>");
        if (File.Exists(grid))
            html.Append("<p>One row per class (de-normalised); beyond 20 classes the rows wrap into blocks in reading order, "
                    + "class 0 top left.</p>"
                    + "<img style=\"image-rendering:pixelated;width:100%\" alt=\"synthetic images\" src=\"data:image/png;base64,")
                .Append(Convert.ToBase64String(File.ReadAllBytes(grid))).Append("\">");
        else html.Append("<p>Not written yet (the run has not finished).</p>");

        html.Append("<h2>t-SNE of real and synthetic features</h2>");
        var map = FeatureMap.Read(directory);
        if (map is null) html.Append("<p>Not drawn: it is drawn after the final evaluation, from its first net (log.txt says why "
            + "when it failed, or when a resumed evaluation had that net already).</p>");
        else
            html.Append("<p>").Append(Encode(map.Network)).Append(", penultimate-layer features; perplexity ")
                .Append(map.Perplexity.ToString("G3", Invariant)).Append(". Dots: real test images; rings: synthetic images; colour: class")
                .Append(map.ClassNames.Count > LegendClasses
                    ? $" ({map.ClassNames.Count} classes round the hue circle in class order, no legend)" : "")
                .Append(map.Drawn is null ? "" : $". Drawn: {Encode(map.Drawn)}").Append(".</p>")
                .Append(Scatter(map));

        html.Append("<h2>Config</h2><pre>").Append(Encode(File.ReadAllText(config))).Append("</pre></body></html>\n");
        AtomicFile.WriteAllText(Path.Combine(directory, RunDirectory.ReportName),
            Markdown(name, metrics, evals, File.Exists(grid), map is not null));
        var path = Path.Combine(directory, RunDirectory.ReportHtmlName);
        AtomicFile.WriteAllText(path, html.ToString());
        return path;
    }

    /// <summary>The same run in Markdown, for a terminal, a notebook or a pull request: the numbers, and pointers
    /// to the pictures.</summary>
    /// <summary>Whether the run learns its student lr (MTT, BPTT, DATM): DM, DC and DSA keep the evaluation's.</summary>
    private static bool LearnsLr(List<JsonElement> metrics) =>
        metrics.Select(m => m.GetProperty("lr").GetDouble()).Distinct().Skip(1).Any();

    private static string Markdown(string name, List<JsonElement> metrics, List<JsonElement> evals, bool hasGrid, bool hasMap)
    {
        var md = new StringBuilder($"# {name}\n\n");
        double minutes = metrics.Sum(m => m.GetProperty("seconds").GetDouble()) / 60;
        md.Append(Invariant, $"{metrics.Count} iterations, {minutes:F1} min of distillation");
        var last = metrics.LastOrDefault(m => m.GetProperty("loss").ValueKind == JsonValueKind.Number);
        if (last.ValueKind == JsonValueKind.Object)
            md.Append(Invariant, $"; last loss {last.GetProperty("loss").GetDouble():F4} "
                + $"(match {last.GetProperty("match_loss").GetDouble():F4}, add-on {last.GetProperty("extra_loss").GetDouble():F4}), "
                + $"{(LearnsLr(metrics) ? "learned lr" : "lr (not learned)")} {last.GetProperty("lr").GetDouble():G4}");
        int gated = metrics.Count(m => m.TryGetProperty("gated", out var g) && g.ValueKind == JsonValueKind.True);
        if (gated > 0) md.Append(Invariant, $"; {gated} iteration(s) left the set unchanged (matching loss above --match-threshold)");
        int skipped = metrics.Count(m => m.TryGetProperty("skipped", out var s) && s.ValueKind == JsonValueKind.True);
        if (skipped > 0) md.Append(Invariant, $"; {skipped} non-finite iteration(s) skipped");
        md.Append(".\n\n");
        var mim = metrics.LastOrDefault(m => m.TryGetProperty("mim", out var v) && v.ValueKind == JsonValueKind.Object);
        if (mim.ValueKind == JsonValueKind.Object)
            md.Append("MIM at the last iteration, per layer: lower bound on I(S;T) ").Append(Readings(mim, "mi_bound.", "F2"))
                .Append(" nats, synthetic→real retrieval ").Append(Readings(mim, "retrieval.", "F2")).Append(".\n\n");
        md.Append("## Evaluation\n\n");
        if (evals.Count == 0) md.Append("No evaluation yet.\n");
        else
        {
            md.Append("| iteration | arch | labels | accuracy % | nets | minutes |\n|---|---|---|---|---|---|\n");
            foreach (var e in evals)
                md.Append(Invariant, $"| {e.GetProperty("iteration").GetInt32()} | {e.GetProperty("arch").GetString()} | "
                    + $"{RunSummary.LabelsOf(e)} | "
                    + $"{100 * e.GetProperty("mean").GetDouble():F2} ± {100 * e.GetProperty("std").GetDouble():F2} | "
                    + $"{e.GetProperty("accuracies").GetArrayLength()} | {e.GetProperty("seconds").GetDouble() / 60:F1} |\n");
        }
        md.Append("\n## Files\n\n");
        md.Append("- `report.html`: the full report (open in a browser; self-contained): "
                + "these numbers with the loss, gradient-norm, lr and accuracy curves")
            .Append(hasMap ? " and the t-SNE of real vs synthetic features" : "").Append("\n");
        if (hasGrid) md.Append("- `grid.png`: the synthetic images, one row per class\n\n![synthetic images](grid.png)\n\n");
        md.Append("- `config.json`: the effective options, machine and version; `metrics.jsonl`, `evals.jsonl`: every number above\n");
        return md.ToString();
    }

    /// <summary>
    /// The MIM term's diagnostics, for runs that log them (metrics' "mim" object): per layer the lower bound on I(S;T)
    /// and the synthetic→real retrieval, and at the gradient checks the two image-gradient norms, their cosine and λ.
    /// A bound that stays flat at its collapse value or a retrieval at chance is a term that carries no class signal.
    /// </summary>
    private static void AppendMim(StringBuilder html, List<JsonElement> metrics)
    {
        var rows = metrics.Where(m => m.TryGetProperty("mim", out var v) && v.ValueKind == JsonValueKind.Object).ToList();
        if (rows.Count == 0) return;
        html.Append("<h2>MIM estimator</h2><p>Per layer: the lower bound on I(S;T) the term's NCE loss implies, "
                + "and the share of synthetic images ")
            .Append("whose best-scoring real image has their label (retrieval). "
                + "At the gradient checks (--mim-grad-every): ‖g_DD‖ of the ")
            .Append("distillation loss and ‖λ·g_MIM‖ of the term on the images, their ratio (before and after --mim-balance "
                + "rescales λ), their cosine, and λ.</p>");
        html.Append(Chart("MI lower bound per layer (nats)", MimSeries(rows, "mi_bound.")));
        html.Append(Chart("synthetic→real retrieval per layer", MimSeries(rows, "retrieval.")));
        html.Append(Chart("image-gradient norms at the checks",
            [.. MimSeries(rows, "grad_dd", "‖g_DD‖"), .. MimSeries(rows, "grad_mim", "‖λ·g_MIM‖")]));
        html.Append(Chart("gradient ratio ‖λ·g_MIM‖ / ‖g_DD‖ at the checks",
            [.. MimSeries(rows, "grad_ratio", "before"), ("after balancing", GradientRatios(rows))]));
        html.Append(Chart("cosine(g_DD, g_MIM) at the checks", MimSeries(rows, "grad_cos", "cosine")));
        html.Append(Chart("λ", MimSeries(rows, "lambda", "λ")));
    }

    /// <summary>‖λ·g_MIM‖ / ‖g_DD‖ at every check that logged both, after the check's rebalancing (ρ with --mim-balance ρ).</summary>
    private static List<(double X, double Y)> GradientRatios(List<JsonElement> rows) =>
        rows.Select(r => (mim: r.GetProperty("mim"), X: r.GetProperty("iteration").GetDouble() + 1))
            .Where(p => p.mim.TryGetProperty("grad_dd", out var dd) && dd.ValueKind == JsonValueKind.Number && dd.GetDouble() > 0
                && p.mim.TryGetProperty("grad_mim", out var term) && term.ValueKind == JsonValueKind.Number)
            .Select(p => (p.X, p.mim.GetProperty("grad_mim").GetDouble() / p.mim.GetProperty("grad_dd").GetDouble()))
            .ToList();

    private static string Readings(JsonElement row, string prefix, string format) =>
        string.Join(", ", row.GetProperty("mim").EnumerateObject().Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => $"{p.Name[prefix.Length..]} {p.Value.GetDouble().ToString(format, Invariant)}"));

    /// <summary>One series per key of the rows' "mim" object that starts with the prefix, named by the rest of the key
    /// (or the name given).</summary>
    private static List<(string Name, List<(double X, double Y)> Points)> MimSeries(List<JsonElement> rows, string prefix,
        string? name = null) =>
        rows.SelectMany(r => r.GetProperty("mim").EnumerateObject()
                .Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.Number)
                .Select(p => (Key: p.Name, X: r.GetProperty("iteration").GetDouble() + 1, Y: p.Value.GetDouble())))
            .GroupBy(p => p.Key)
            .Select(g => (name ?? g.Key[prefix.Length..], g.Select(p => (p.X, p.Y)).ToList()))
            .ToList();

    private static List<JsonElement> JsonLines(string file) =>
        File.ReadLines(file).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static List<(double X, double Y)> Series(List<JsonElement> rows, string field) =>
        rows.Where(r => r.GetProperty(field).ValueKind == JsonValueKind.Number)   // null marks a skipped, non-finite iteration
            .Select(r => (r.GetProperty("iteration").GetDouble() + 1, r.GetProperty(field).GetDouble())).ToList();

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>Class names beyond this many do not fit beside the map (16 px a line).</summary>
    private const int LegendClasses = 36;

    /// <summary>The palette for up to 10 classes; more classes (CIFAR-100) go round the hue circle so that no two share one.</summary>
    private static string ClassColour(int label, int classes) =>
        classes <= Colours.Length ? Colours[label % Colours.Length] : $"hsl({360 * label / classes},70%,{(label % 2 == 0 ? 40 : 55)}%)";

    /// <summary>The t-SNE map as inline SVG: real points as small dots, synthetic ones as larger rings, one colour per class,
    /// a legend.</summary>
    internal static string Scatter(FeatureMap.Map map)
    {
        const int size = 600, margin = 20, legend = 160;
        double x0 = map.Points.Min(p => p.X), x1 = map.Points.Max(p => p.X), y0 = map.Points.Min(p => p.Y), y1 = map.Points.Max(p => p.Y);
        double span = Math.Max(Math.Max(x1 - x0, y1 - y0), 1e-9);
        string P(double v, double origin) => (margin + (v - origin) / span * (size - 2 * margin)).ToString("F1", Invariant);
        var svg = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size + legend}\" "
            + $"height=\"{size}\" font-size=\"12\">");
        foreach (var p in map.Points.OrderBy(p => p.Synthetic))   // synthetic rings on top
        {
            var colour = ClassColour(p.Label, map.ClassNames.Count);
            svg.Append(p.Synthetic
                ? $"<circle cx=\"{P(p.X, x0)}\" cy=\"{P(p.Y, y0)}\" r=\"5\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>"
                : $"<circle cx=\"{P(p.X, x0)}\" cy=\"{P(p.Y, y0)}\" r=\"2\" fill=\"{colour}\" fill-opacity=\"0.6\"/>");
        }
        for (int c = 0; c < map.ClassNames.Count && map.ClassNames.Count <= LegendClasses; c++)
            svg.Append($"<text x=\"{size + 10}\" y=\"{margin + 16 * c + 10}\" fill=\"{ClassColour(c, map.ClassNames.Count)}\">"
                + $"{Encode(map.ClassNames[c])}</text>");
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Round values from lo to hi, 2 to 6 of them (1, 2 or 5 × 10^k), for axis ticks.</summary>
    internal static IEnumerable<double> TickValues(double lo, double hi)
    {
        double raw = (hi - lo) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(f => f * magnitude).First(s => s >= raw);
        for (double k = Math.Ceiling(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++)
            yield return Math.Round(k * step, 12) + 0.0;   // + 0.0 turns −0 into 0
    }

    /// <summary>A line chart as inline SVG: shared axes with labelled ticks, one polyline per series
    /// (constant-zero series are left out).</summary>
    internal static string Chart(string title, IReadOnlyList<(string Name, List<(double X, double Y)> Points)> series)
    {
        const int width = 900, height = 270, left = 70, right = 150, top = 30, bottom = 40;
        var shown = series.Where(s => s.Points.Count > 0 && s.Points.Any(p => p.Y != 0 && double.IsFinite(p.Y))).ToList();
        if (shown.Count == 0) return "";
        var all = shown.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y)).ToList();
        double x0 = all.Min(p => p.X), x1 = all.Max(p => p.X), y0 = Math.Min(0, all.Min(p => p.Y)), y1 = all.Max(p => p.Y);
        if (x1 == x0) x1 = x0 + 1;
        if (y1 == y0) y1 = y0 + 1;
        string Px(double x) => (left + (x - x0) / (x1 - x0) * (width - left - right)).ToString("F1", Invariant);
        string Py(double y) => (top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)).ToString("F1", Invariant);
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-size=\"12\">");
        svg.Append($"<text x=\"{left}\" y=\"18\" font-weight=\"bold\">{Encode(title)}</text>");
        svg.Append($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        svg.Append($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        // Labelled ticks at round values (1, 2 or 5 × 10^k apart) with faint grid lines, and a darker line at y = 0.
        foreach (var y in TickValues(y0, y1))
        {
            svg.Append($"<line x1=\"{left}\" y1=\"{Py(y)}\" x2=\"{width - right}\" y2=\"{Py(y)}\" stroke=\"#eee\"/>");
            svg.Append($"<text x=\"{left - 6}\" y=\"{Py(y)}\" text-anchor=\"end\" dominant-baseline=\"middle\">"
                + $"{y.ToString("G4", Invariant)}</text>");
        }
        foreach (var x in TickValues(x0, x1))
            svg.Append($"<text x=\"{Px(x)}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{x.ToString("G6", Invariant)}</text>");
        if (y0 < 0 && y1 > 0) svg.Append($"<line x1=\"{left}\" y1=\"{Py(0)}\" x2=\"{width - right}\" y2=\"{Py(0)}\" stroke=\"#888\"/>");
        svg.Append($"<text x=\"{width - right}\" y=\"{height - 2}\" text-anchor=\"end\">iteration</text>");
        for (int i = 0; i < shown.Count; i++)
        {
            var colour = Colours[i % Colours.Length];
            var points = string.Join(' ', shown[i].Points.Where(p => double.IsFinite(p.Y)).Select(p => $"{Px(p.X)},{Py(p.Y)}"));
            svg.Append($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{points}\"/>");
            svg.Append($"<text x=\"{width - right + 10}\" y=\"{top + 16 * i + 10}\" fill=\"{colour}\">{Encode(shown[i].Name)}</text>");
        }
        return svg.Append("</svg>").ToString();
    }
}
