using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.Runs;

/// <summary>One point of a sweep: its name (the folder it runs in) and the flags it adds to the command.</summary>
public sealed record SweepPoint(string Name, IReadOnlyList<string> Flags);

/// <summary>
/// A grid of sweep points from a file: CSV (header `name,flag,…` with flags without dashes, one row per point; an
/// empty cell leaves that flag out) or JSON (an array of objects with "name" and flags without dashes). Values are
/// passed as written, so `true`/`false` work for switches.
/// </summary>
public static class SweepGrid
{
    public static List<SweepPoint> Read(string path)
    {
        if (!File.Exists(path)) throw UserError.At(path, "no such grid file", "pass a .csv or .json grid of sweep points");
        var points = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? FromJson(path) : FromCsv(path);
        if (points.Count == 0) throw UserError.At(path, "has no points", "add one row (CSV) or object (JSON) per point");
        foreach (var point in points)
            if (point.Name.Length == 0 || point.Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                || point.Name is "." or "..")
                throw UserError.At(path, $"point name '{point.Name}' is not a plain folder name", "use letters, digits, '-', '_' and '.'");
        if (points.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw UserError.At(path, $"two points are named {twice.Key}", "give every point its own name (its output folder)");
        return points;
    }

    private static List<SweepPoint> FromCsv(string path)
    {
        var rows = File.ReadAllLines(path).Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#'))
            .Select(l => l.Split(',').Select(c => c.Trim()).ToArray()).ToList();
        if (rows.Count == 0 || rows[0].Length == 0 || rows[0][0] != "name")
            throw UserError.At(path, "the first line must be the header `name,flag,…`", "e.g. `name,lambda,tau` then `lam0.2,0.2,0.1`");
        var header = rows[0];
        var points = new List<SweepPoint>();
        for (int r = 1; r < rows.Count; r++)
        {
            if (rows[r].Length != header.Length)
                throw UserError.At(path, $"row {r + 1} has {rows[r].Length} cells, the header {header.Length}",
                    "give every row one cell per column");
            var flags = new List<string>();
            for (int c = 1; c < header.Length; c++)
                if (rows[r][c].Length > 0) flags.AddRange([$"--{header[c]}", rows[r][c]]);
            points.Add(new SweepPoint(rows[r][0], flags));
        }
        return points;
    }

    private static List<SweepPoint> FromJson(string path)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException e) { throw UserError.At(path, $"not valid JSON ({e.Message.Split('\n')[0]})", "write an array of objects"); }
        if (root.ValueKind != JsonValueKind.Array) throw UserError.At(path, "is not a JSON array",
            "write [{\"name\": \"lam0.2\", \"lambda\": 0.2}, …]");
        var points = new List<SweepPoint>();
        foreach (var item in root.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var name)
                || name.ValueKind != JsonValueKind.String)
                throw UserError.At(path, "every point must be an object with a string \"name\"",
                    "write [{\"name\": \"lam0.2\", \"lambda\": 0.2}, …]");
            var flags = new List<string>();
            foreach (var property in item.EnumerateObject().Where(p => p.Name != "name"))
                flags.AddRange([$"--{property.Name}", property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Number => property.Value.GetRawText(),
                    _ => throw UserError.At(path, $"point {name.GetString()}: {property.Name} is not a string, number or boolean",
                        "give one value per flag"),
                }]);
            points.Add(new SweepPoint(name.GetString()!, flags));
        }
        return points;
    }
}
