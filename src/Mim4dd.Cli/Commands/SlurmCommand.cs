using System.CommandLine;
using System.Text.Json;
using Mim4dd.Runs;
using Mim4dd.Runtime;

namespace Mim4dd.Cli.Commands;

/// <summary>
/// `mim4dd slurm experts|eval|sweep … -- <the mim4dd command's own flags>`: one Slurm job array whose tasks are ordinary
/// resumable mim4dd runs (expert shards, evaluation-net shards, sweep points), written as an sbatch script and submitted.
/// Every task's command is parsed here first, so a bad flag fails now, not on the cluster.
/// </summary>
public static class SlurmCommand
{
    public static Command Create(RootCommand root)
    {
        var command = new Command("slurm", "Run experts, evaluations or a sweep as a Slurm job array of resumable mim4dd tasks "
            + "(`mim4dd slurm experts --tasks 4 -- --dataset cifar10 --num-experts 100`)");
        command.Subcommands.Add(Sharded(root, "experts", "experts",
            "Train an expert store as N array tasks, task i running `experts … --shard i/N` (expert j in task j % N)"));
        command.Subcommands.Add(Sharded(root, "eval", "eval",
            "Evaluate a saved set's nets as N array tasks (`eval SET … --shard i/N`); "
                + "`mim4dd eval SET …` without --shard then writes the table"));
        command.Subcommands.Add(Sweep(root));
        return command;
    }

    private sealed record Common(Option<string?> Partition, Option<string?> Time, Option<int> Cpus, Option<string?> Memory,
        Option<bool> Requeue, Option<string[]> SbatchArgs, Option<string?> Logs, Option<bool> DryRun, Argument<string[]> Rest)
    {
        public static Common Add(Command command)
        {
            var common = new Common(
                new("--partition") { Description = "Slurm partition (default: the cluster's)" },
                new("--time") { Description = "Time limit per task, as sbatch takes it (e.g. 4:00:00; default: the partition's)" },
                new("--cpus-per-task")
                {
                    Description = "CPUs per task; each task runs with --threads set to them", DefaultValueFactory = _ => 1
                },
                new("--mem") { Description = "Memory per node, as sbatch takes it (e.g. 8G; default: the cluster's)" },
                new("--requeue") { Description = "Let Slurm requeue a pre-empted or failed task; it continues from its files" },
                new("--sbatch-arg") { Description = "Another sbatch option for every task, e.g. --sbatch-arg=--account=ml (repeatable)" },
                new("--logs") { Description = "Folder for the script and the tasks' output (default runs/slurm)" },
                new("--dry-run") { Description = "Write the script and print it, but do not submit it" },
                new("command") { Description = "The mim4dd command's own flags, after --", Arity = ArgumentArity.ZeroOrMore });
            foreach (var option in new Option[] { common.Partition, common.Time, common.Cpus, common.Memory, common.Requeue,
                common.SbatchArgs, common.Logs, common.DryRun })
                command.Options.Add(option);
            command.Arguments.Add(common.Rest);
            return common;
        }

        public SlurmResources Resources(ParseResult parse)
        {
            OptionRange.AtLeast("--cpus-per-task", parse.GetValue(Cpus), 1, "pass e.g. --cpus-per-task 4");
            return new(parse.GetValue(Partition), parse.GetValue(Time), parse.GetValue(Cpus), parse.GetValue(Memory),
                parse.GetValue(Requeue), parse.GetValue(SbatchArgs));
        }

        /// <summary>Checks each task's mim4dd command with the real parser, writes the script and (unless --dry-run) submits it.</summary>
        public int Launch(ParseResult parse, RootCommand root, string name, IReadOnlyList<string[]> tasks)
        {
            foreach (var task in tasks)
            {
                var check = root.Parse(task);
                if (check.Errors.Count > 0)
                    throw UserError.At($"task `mim4dd {string.Join(' ', task)}`", Cli.ParseErrorLine(check), "fix the flags after --");
            }
            var logs = Path.GetFullPath(parse.GetValue(Logs) ?? Path.Combine("runs", "slurm"));
            Directory.CreateDirectory(logs);
            var self = SlurmJob.SelfCommand();
            var script = SlurmJob.Script(name, tasks.Select(t => (IReadOnlyList<string>)[.. self, .. t]).ToList(), Resources(parse),
                Directory.GetCurrentDirectory(), logs);
            var path = Path.Combine(logs, $"{name}.sbatch");
            if (parse.GetValue(DryRun))
            {
                Mim4dd.IO.AtomicFile.WriteAllText(path, script);
                Console.Write(script);
                Cli.Log($"wrote {path} ({tasks.Count} tasks); submit it with `sbatch {path}`");
                return 0;
            }
            var id = SlurmJob.Submit(path, script);
            Cli.Log($"submitted job {id}: {tasks.Count} tasks ({path}); "
                + $"follow it with `squeue --me` (tasks {id}_0…{id}_{tasks.Count - 1}), "
                + $"output in {Path.Combine(logs, $"{name}-{id}_<task>.out")}");
            // The job id last, alone on its line, for scripts: `jid=$(mim4dd slurm … | tail -n 1)`.
            Console.WriteLine(id);
            return 0;
        }
    }

    private static Command Sharded(RootCommand root, string name, string verb, string description)
    {
        var tasks = new Option<int>("--tasks") { Description = "Array tasks, each taking every N-th item", DefaultValueFactory = _ => 2 };
        var command = new Command(name, description) { tasks };
        var common = Common.Add(command);
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            int n = parse.GetValue(tasks);
            OptionRange.AtLeast("--tasks", n, 1, "pass e.g. --tasks 4");
            var rest = parse.GetValue(common.Rest) ?? [];
            Cli.Require(!rest.Any(a => a == "--shard" || a.StartsWith("--shard=", StringComparison.Ordinal)), "--shard",
                "is set per task here", "drop it from the flags after --");
            var list = Enumerable.Range(0, n).Select(i => (string[])[verb, .. rest, "--shard", $"{i}/{n}"]).ToList();
            return common.Launch(parse, root, $"mim4dd-{name}", list);
        }));
        return command;
    }

    private static Command Sweep(RootCommand root)
    {
        var grid = new Argument<string>("grid")
        {
            Description = "CSV (a header `name,flag,…`, then one row per point; an empty cell leaves the flag out) or JSON "
                + "(an array of objects with \"name\" and flags without dashes)",
        };
        var outRoot = new Option<string>("--root")
        {
            Description = "Each point runs with --out ROOT/<name>", DefaultValueFactory = _ => Path.Combine("runs", "sweep")
        };
        var command = new Command("sweep", "One array task per point of a grid: the mim4dd command after -- with the point's flags and "
            + "--out ROOT/<name> (`distill` also gets --resume, so a resubmitted point continues)") { grid, outRoot };
        var common = Common.Add(command);
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var rest = parse.GetValue(common.Rest) ?? [];
            Cli.Require(rest.Length > 0, "sweep", "needs the mim4dd command after --", "e.g. -- distill mim4dd --preset mnist-ipc1");
            var points = SweepGrid.Read(parse.GetValue(grid)!);
            bool distill = rest[0] == "distill";
            var list = points.Select(p => (string[])[.. rest, .. p.Flags, "--out", Path.Combine(parse.GetValue(outRoot)!, p.Name),
                .. (distill ? new[] { "--resume" } : [])]).ToList();
            return common.Launch(parse, root, "mim4dd-sweep", list);
        }));
        return command;
    }
}
