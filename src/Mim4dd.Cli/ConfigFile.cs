using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.Cli;

/// <summary>
/// `--config run.json`: a flat JSON object whose keys are a verb's option names without dashes
/// (<c>{"method": "mim4dd", "ipc": 10, "lambda": 0.2, "resume": true}</c>). Its entries become command-line
/// options placed before the user's own, and flags given on the command line win over the file. A distillation run's
/// own config.json works too: its "command" object holds the options the run was started with, so
/// `mim4dd distill --config runs/a/config.json --out runs/b` repeats run a.
/// </summary>
public static class ConfigFile
{
    public const string Flag = "--config";

    /// <summary>The arguments with the file's options expanded; unchanged when there is no --config.</summary>
    public static string[] Expand(string[] args, RootCommand root)
    {
        int at = Array.IndexOf(args, Flag);
        if (at < 0) return args;
        if (at + 1 >= args.Length) throw UserError.At(Flag, "needs a file", "pass --config run.json");
        var path = args[at + 1];
        var rest = args.Take(at).Concat(args.Skip(at + 2)).ToArray();
        var verb = rest.Length > 0 ? root.Subcommands.FirstOrDefault(c => c.Name == rest[0]) : null;
        if (verb is null) throw UserError.At(Flag, "must follow a verb", "e.g. mim4dd distill --config run.json");
        var command = rest.Length > 1 ? verb.Subcommands.FirstOrDefault(c => c.Name == rest[1]) ?? verb : verb;
        int verbWords = command == verb ? 1 : 2;
        if (!File.Exists(path)) throw UserError.At(path, "config file not found", "pass the path of a JSON file");
        bool chooses = command == verb && verb.Subcommands.Count > 0;   // `distill --config f`: the file names the method
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e)
        {
            throw UserError.At(path, $"is not valid JSON ({e.Message.Split('\n')[0]})", "write one JSON object of option names and values");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw UserError.At(path, "must hold one JSON object", "write {\"option\": value, ...}");
            bool runConfig = doc.RootElement.TryGetProperty("command", out var recorded) && recorded.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("distill", out _);
            var entries = runConfig ? recorded : doc.RootElement;
            if (chooses)
            {
                var name = entries.TryGetProperty(SubcommandKey, out var chosen) ? chosen.GetString() : null;
                command = verb.Subcommands.FirstOrDefault(c => c.Name == name)
                    ?? throw UserError.At(path, $"names no {verb.Name} subcommand in \"{SubcommandKey}\"",
                        $"add \"{SubcommandKey}\": one of {string.Join(", ", verb.Subcommands.Select(c => c.Name))}, "
                            + $"or name it: mim4dd {verb.Name} <method> --config {path}");
                rest = [rest[0], command.Name, .. rest.Skip(1)];
                verbWords = 2;
            }
            var options = command.Options.ToDictionary(o => o.Name.TrimStart('-'), o => o);
            var given = rest.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a.Split('=')[0]).ToHashSet();
            var expanded = new List<string>();
            foreach (var entry in entries.EnumerateObject())
            {
                if (entry.Name == SubcommandKey && verbWords == 2) continue;
                // A run's config.json from before per-method commands recorded every flag of `distill`, read or not.
                if (runConfig && !options.ContainsKey(entry.Name)) continue;
                if (!options.TryGetValue(entry.Name, out var option) || entry.Name is "config" or "help")
                    throw UserError.At(path, $"'{entry.Name}' is not an option of `{command.Name}`",
                        $"use option names without dashes: "
                            + $"{string.Join(", ", options.Keys.Where(k => k != "help").Order(StringComparer.Ordinal))}");
                if (given.Contains("--" + entry.Name)) continue;   // the command line wins
                expanded.Add("--" + entry.Name);
                expanded.Add(Value(entry, path));
            }
            return [.. rest.Take(verbWords), .. expanded, .. rest.Skip(verbWords)];
        }
    }

    /// <summary>Options that say where and how a run is written or shown, not what it computes: left out of a replay.</summary>
    private static readonly HashSet<string> NotReplayed = ["out", "resume", "force", "config", "help", "quiet", "log-format"];

    /// <summary>The key of a config file that names the subcommand (`distill`'s method).</summary>
    public const string SubcommandKey = "method";

    /// <summary>Every option of the invoked verb with the value it ran with (given or default), for config.json.</summary>
    public static IReadOnlyDictionary<string, object?> Effective(ParseResult parse)
    {
        var values = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var option in parse.CommandResult.Command.Options)
        {
            var name = option.Name.TrimStart('-');
            if (NotReplayed.Contains(name)) continue;
            var result = parse.GetResult(option);
            object? value = result is not null ? result.GetValueOrDefault<object?>()
                : option.HasDefaultValue ? option.GetDefaultValue() : null;
            if (value is not null) values[name] = value;
        }
        return values;
    }

    private static string Value(JsonProperty entry, string path) => entry.Value.ValueKind switch
    {
        JsonValueKind.String => entry.Value.GetString()!,
        JsonValueKind.Number => entry.Value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Array => string.Join(',', entry.Value.EnumerateArray()
            .Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())),
        _ => throw UserError.At(path,
            $"'{entry.Name}' has a {entry.Value.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture)} value",
            "use a string, number, true/false or a list"),
    };
}
