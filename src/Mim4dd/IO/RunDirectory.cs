using System.Text.Json;
using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>The one owner of the run-directory layout: runs/&lt;name&gt;/{config.json, results.json, repeats.jsonl, syn.safetensors, report.md, log.txt}.</summary>
public sealed class RunDirectory
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        try
        {
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
                Claimed[Path] = new FileStream(System.IO.Path.Combine(Path, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                throw UserError.At(Path, "is in use by another running mim4dd process",
                    "wait for that run to finish or stop it (Ctrl+C keeps its checkpoint), or pass another --out");
            }
        }
        return this;
    }

    public string Config => System.IO.Path.Combine(Path, "config.json");
    public string Results => System.IO.Path.Combine(Path, "results.json");
    public string Synthetic => System.IO.Path.Combine(Path, "syn.safetensors");
    public string Report => System.IO.Path.Combine(Path, "report.md");
    public string Log => System.IO.Path.Combine(Path, "log.txt");
    /// <summary>One line per finished evaluation net ({"repeat", "accuracy"}), so a killed evaluation resumes.</summary>
    public string Repeats => System.IO.Path.Combine(Path, "repeats.jsonl");
    /// <summary>Finished evaluation nets of `eval` and of a distillation's evaluations, one line each, keyed by set, arch and protocol (<see cref="FinishedNets"/>).</summary>
    public string EvalNets => System.IO.Path.Combine(Path, "eval-nets.jsonl");

    public void WriteJson<T>(string file, T value) => AtomicFile.WriteAllText(file, JsonSerializer.Serialize(value, Json));

    public void AppendLog(string line) => File.AppendAllText(Log, line + Environment.NewLine);

    /// <summary>A run directory given on the command line must already hold a synthetic set.</summary>
    public static RunDirectory Existing(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw UserError.At(full, "run directory not found", "pass a folder written by `mim4dd coreset` or `mim4dd distill`");
        return new RunDirectory(full);
    }
}
