using System.Diagnostics;
using System.Text;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Runs;

/// <summary>What the cluster gives each array task; null leaves it to the cluster's defaults.</summary>
/// <param name="Extra">More `#SBATCH` lines, each as sbatch takes it on its command line (e.g. "--account=ml").</param>
public sealed record SlurmResources(string? Partition = null, string? Time = null, int CpusPerTask = 1, string? Memory = null,
    bool Requeue = false, IReadOnlyList<string>? Extra = null);

/// <summary>
/// A Slurm job array of mim4dd commands, one per task: the sbatch script and its submission. The commands are ordinary
/// resumable runs (an expert shard, a share of the evaluation nets, a sweep point), so a task that fails or is
/// pre-empted is resubmitted and continues from its files; nothing is merged by the job itself.
/// </summary>
public static class SlurmJob
{
    /// <summary>The script: #SBATCH lines, then a case on SLURM_ARRAY_TASK_ID running task i's command in
    /// <paramref name="workingDirectory"/>, each with --threads set to the task's CPUs.</summary>
    /// <param name="tasks">Each task's command line, the mim4dd executable first.</param>
    public static string Script(string name, IReadOnlyList<IReadOnlyList<string>> tasks, SlurmResources resources, string workingDirectory,
        string logDirectory)
    {
        if (tasks.Count == 0) throw new ArgumentException("a job array needs at least one task", nameof(tasks));
        var s = new StringBuilder("#!/bin/bash\n");
        s.AppendLine($"#SBATCH --job-name={name}");
        s.AppendLine($"#SBATCH --array=0-{tasks.Count - 1}");
        s.AppendLine($"#SBATCH --output={Path.Combine(logDirectory, "%x-%A_%a.out")}");
        s.AppendLine($"#SBATCH --cpus-per-task={resources.CpusPerTask}");
        if (resources.Partition is { } partition) s.AppendLine($"#SBATCH --partition={partition}");
        if (resources.Time is { } time) s.AppendLine($"#SBATCH --time={time}");
        if (resources.Memory is { } memory) s.AppendLine($"#SBATCH --mem={memory}");
        s.AppendLine(resources.Requeue ? "#SBATCH --requeue" : "#SBATCH --no-requeue");
        foreach (var extra in resources.Extra ?? []) s.AppendLine($"#SBATCH {extra}");
        s.AppendLine("# Written by mim4dd. Every task is a resumable mim4dd run: resubmitting the script (or a failed task of it)");
        s.AppendLine("# continues from the files the task left.");
        s.AppendLine("set -euo pipefail");
        s.AppendLine($"cd {Quote(workingDirectory)}");
        s.AppendLine("threads=${SLURM_CPUS_PER_TASK:-1}");
        s.AppendLine("case \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch}\" in");
        for (int i = 0; i < tasks.Count; i++)
            s.AppendLine($"  {i}) exec {string.Join(' ', tasks[i].Select(Quote))} --threads \"$threads\" ;;");
        s.AppendLine("  *) echo \"no task $SLURM_ARRAY_TASK_ID in this array\" >&2; exit 2 ;;");
        s.AppendLine("esac");
        return s.ToString();
    }

    /// <summary>Bash single quotes: the text as one word, nothing expanded.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? word
            : "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>The command that runs this mim4dd: the apphost, or `dotnet Mim4dd.Cli.dll` when started that way.</summary>
    public static List<string> SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the process path is unknown");
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && entry is { Length: > 0 } ? [process, entry] : [process];
    }

    /// <summary>Writes the script atomically and submits it with sbatch; returns the job id.</summary>
    public static string Submit(string scriptPath, string script)
    {
        AtomicFile.WriteAllText(scriptPath, script);
        var info = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("--parsable");
        info.ArgumentList.Add(scriptPath);
        Process process;
        try { process = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw UserError.At("sbatch", "not found on PATH",
                $"run this on a Slurm login node, or pass --dry-run and submit {scriptPath} yourself");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw UserError.At("sbatch", $"refused the job ({stderr.Trim().Split('\n').Last()})",
                    $"fix the resources, or look at {scriptPath}");
            // --parsable prints "jobid" or "jobid;cluster".
            return stdout.Result.Trim().Split(';')[0];
        }
    }
}
