using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>The one owner of the run-directory layout: runs/&lt;name&gt;/{config.json, results.json, repeats.jsonl,
/// syn.safetensors, report.md, report.html, log.txt, checkpoint.safetensors, metrics.jsonl, evals.jsonl, eval-nets.jsonl,
/// mi.json}.</summary>
public sealed class RunDirectory
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        try
        {
            if (!Directory.Exists(Path)) lock (Claimed) Created.Add(Path);
            Directory.CreateDirectory(Path);
            var probe = System.IO.Path.Combine(Path, ".write-probe");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw UserError.At(Path, $"cannot write the run directory ({e.Message})", "pass --out with a writable folder");
        }
    }

    public string Path { get; }

    private static readonly Dictionary<string, FileStream> Claimed = new();
    private static readonly HashSet<string> Created = new();

    /// <summary>
    /// After a command failed: deletes the run directories this process created that hold nothing but its lock and log,
    /// so a typo leaves no empty run folder behind (one a later `--resume` or `compare` would take for a run).
    /// A directory that existed before, or that holds anything else, stays.
    /// </summary>
    public static void RemoveUnused()
    {
        lock (Claimed)
        {
            foreach (var path in Created)
            {
                if (Claimed.Remove(path, out var lockFile)) lockFile.Dispose();
                try
                {
                    if (!Directory.Exists(path)) continue;
                    var left = Directory.EnumerateFileSystemEntries(path).Select(System.IO.Path.GetFileName);
                    if (left.All(name => name is ".lock" or LogName)) Directory.Delete(path, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            Created.Clear();
        }
    }

    /// <summary>
    /// Makes this process the directory's only writer until it exits: an exclusive lock on <c>.lock</c> (.NET takes
    /// an advisory flock for FileShare.None on Linux; the kernel drops it when the process dies, so a killed run
    /// leaves nothing to clean up). A second run on the same directory, e.g. a `--resume` typed while the first
    /// still runs, would interleave checkpoints and metrics; it stops here instead.
    /// </summary>
    public RunDirectory Claim()
    {
        lock (Claimed)
        {
            if (Claimed.ContainsKey(Path)) return this;
            try
            {
                Claimed[Path] = new FileStream(System.IO.Path.Combine(Path, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite,
                    FileShare.None);
            }
            catch (IOException)
            {
                throw UserError.At(Path, "is in use by another running mim4dd process",
                    "wait for that run to finish or stop it (Ctrl+C keeps its checkpoint), or pass another --out");
            }
        }
        return this;
    }

    // The file names of the layout, for code that holds only a directory's path (reports, tables of finished runs).
    public const string ConfigName = "config.json", ResultsName = "results.json", SyntheticName = "syn.safetensors",
        ReportName = "report.md", ReportHtmlName = "report.html", LogName = "log.txt", RepeatsName = "repeats.jsonl",
        EvalNetsName = "eval-nets.jsonl", CheckpointName = "checkpoint.safetensors", MetricsName = "metrics.jsonl",
        EvalsName = "evals.jsonl", MiName = "mi.json";

    public string Config => In(ConfigName);
    public string Results => In(ResultsName);
    public string Synthetic => In(SyntheticName);
    public string Report => In(ReportName);
    public string ReportHtml => In(ReportHtmlName);
    public string Log => In(LogName);
    /// <summary>One line per finished evaluation net ({"repeat", "accuracy"}), so a killed evaluation resumes.</summary>
    public string Repeats => In(RepeatsName);
    /// <summary>Finished evaluation nets of `eval` and of a distillation's evaluations, one line each, keyed by set, arch and
    /// protocol (<see cref="FinishedNets"/>).</summary>
    public string EvalNets => In(EvalNetsName);

    /// <summary>The finished nets of `eval --shard i/n` process i: one log per shard, so that no two processes write one file.</summary>
    public string EvalNetsOfShard(Runtime.Shard shard) => In($"eval-nets.shard-{shard.Index}-of-{shard.Count}.jsonl");

    /// <summary>Every shard's log of finished nets, as `eval` reads them beside <see cref="EvalNets"/>.</summary>
    public IReadOnlyList<string> EvalNetsOfShards() =>
        Directory.Exists(Path) ? Directory.GetFiles(Path, "eval-nets.shard-*-of-*.jsonl").Order(StringComparer.Ordinal).ToList() : [];
    /// <summary>A distillation's checkpoint, per-iteration metrics and evaluations; `mi`'s estimate.</summary>
    public string Checkpoint => In(CheckpointName);
    public string Metrics => In(MetricsName);
    public string Evals => In(EvalsName);
    public string Mi => In(MiName);

    private string In(string name) => System.IO.Path.Combine(Path, name);

    public void WriteJson<T>(string file, T value) => AtomicFile.WriteAllText(file, JsonSerializer.Serialize(value, Json));

    public void AppendLog(string line) => File.AppendAllText(Log, line + Environment.NewLine);

    /// <summary>A run directory given on the command line must already hold a synthetic set.</summary>
    public static RunDirectory Existing(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw UserError.At(full, "run directory not found",
            "pass a folder written by `mim4dd coreset` or `mim4dd distill`");
        return new RunDirectory(full);
    }
}
