using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.Bench;

/// <summary>
/// Two benchmark JSON files side by side: rows are matched on their non-numeric and integer fields (shape, method,
/// steps, ...), and every fractional figure is shown with the ratio B / A.
/// </summary>
public static class BenchCompare
{
    /// <summary>Integer fields that count timed repeats or are measured (memory) rather than name a configuration, per benchmark.</summary>
    private static readonly Dictionary<string, string[]> RepeatCounts = new()
    {
        ["convnet"] = ["Steps"], ["distill"] = ["Iterations", "RssMaxMb"], ["roofline"] = ["Repeats"], ["unroll"] = [],
    };

    public static IReadOnlyList<string> Lines(string a, string b)
    {
        var (nameA, rowsA) = Read(a);
        var (nameB, rowsB) = Read(b);
        if (nameA != nameB) throw UserError.At(b, $"is a '{nameB}' benchmark but {Path.GetFileName(a)} is '{nameA}'",
            "compare two files of the same benchmark");
        var counts = RepeatCounts.GetValueOrDefault(nameA, []);
        var lines = new List<string>
        {
            $"| row | figure | A ({Path.GetFileName(a)}) | B ({Path.GetFileName(b)}) | B / A |",
            "|---|---|---|---|---|",
        };
        int matched = 0;
        foreach (var row in rowsA)
        {
            var key = Key(row, counts);
            var other = rowsB.FirstOrDefault(r => Key(r, counts) == key);
            if (other.ValueKind == JsonValueKind.Undefined) continue;
            matched++;
            foreach (var figure in row.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.Number && !p.Value.TryGetInt64(out _)))
                if (other.TryGetProperty(figure.Name, out var valueB) && valueB.ValueKind == JsonValueKind.Number)
                {
                    double x = figure.Value.GetDouble(), y = valueB.GetDouble();
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"| {key} | {figure.Name} | {x:G4} | {y:G4} | {(x == 0 ? double.NaN : y / x):F2} |"));
                }
        }
        if (matched == 0) throw UserError.At(b, $"has no row matching a row of {Path.GetFileName(a)}",
            "compare runs of the same benchmark with the same settings");
        return lines;
    }

    private static string Key(JsonElement row, string[] counts) => string.Join(" ", row.EnumerateObject()
        .Where(p => !counts.Contains(p.Name))
        .Where(p => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.True or JsonValueKind.False
            || (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out _)))
        .Select(p => $"{p.Name}={p.Value}"));

    private static (string Benchmark, List<JsonElement> Rows) Read(string path)
    {
        if (!File.Exists(path)) throw UserError.At(path, "benchmark file not found", "pass two JSON files written by `mim4dd bench`");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            return (root.GetProperty("Benchmark").GetString()!, root.GetProperty("Rows").EnumerateArray().Select(r => r.Clone()).ToList());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw UserError.At(path, $"is not a benchmark file ({e.Message.Split('\n')[0]})", "pass JSON files written by `mim4dd bench`");
        }
    }
}
