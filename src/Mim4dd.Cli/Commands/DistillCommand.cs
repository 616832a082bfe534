using System.CommandLine;
using System.Globalization;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd distill &lt;method&gt;`: one subcommand per method of <see cref="DistillMethods"/>, each with only the
/// flags that method reads, distilling into a resumable run directory.</summary>
public static class DistillCommand
{
    public static Command Create()
    {
        var command = new Command("distill",
            "Distil a synthetic set: `mim4dd distill <method> [flags]`; `mim4dd distill <method> --help` lists "
            + "the method's flags (--mim adds the MIM term to datm, bptt, dm, dc and dsa)");
        foreach (var info in DistillMethods.All) command.Subcommands.Add(ForMethod(info));
        return command;
    }

    /// <summary>The pre-registry spelling `distill --method X …` (scripts, config files) as `distill X …`.</summary>
    public static string[] MethodAsSubcommand(string[] args)
    {
        if (args.Length < 2 || args[0] != "distill") return args;
        int at = Array.FindIndex(args, a => a == "--method" || a.StartsWith("--method=", StringComparison.Ordinal));
        if (at < 0) return args;
        var (name, width) = args[at].Contains('=') ? (args[at].Split('=', 2)[1], 1) : (at + 1 < args.Length ? args[at + 1] : "", 2);
        var rest = args.Take(at).Concat(args.Skip(at + width)).ToList();
        rest.Insert(1, name.ToLowerInvariant());
        return [.. rest];
    }

    /// <summary>The run's options for config.json, so that `distill --config` replays it: the method under "method";
    /// without the MIM term its flags are left out, as they were not read.</summary>
    private static IReadOnlyDictionary<string, object?> Recorded(ParseResult parse, string method, bool mim) =>
        ConfigFile.Effective(parse).Where(e => mim || !DistillMethods.MimFlags.Contains(e.Key))
            .Append(KeyValuePair.Create(ConfigFile.SubcommandKey, (object?)method))
            .OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary();

    // The run's schedule defaults (RunSchedule's), shown and used by every method.
    private static readonly RunSchedule Schedule = new();

    private static Command ForMethod(DistillMethodInfo info)
    {
        string m = info.Name;
        // The help shows the method's own defaults, read from its options record (the preset's replace MTT's).
        var defaults = info.Prepare(new GivenFlags(null, null));
        var (mtt, bptt) = (defaults.Options as MttOptions, defaults.Options as BpttOptions);
        string Default(object? value, bool inPresets = false) =>
            value is null ? "" : $" [default: {value}{(inPresets && info.Reads("preset") ? ", or the preset's" : "")}]";
        var preset = new Option<string?>("--preset")
        {
            Description = "Paper settings, e.g. cifar10-ipc10 or mnist-ipc10 (`--preset list` shows them); flags override",
        };
        var dataset = Cli.Dataset();
        var dataDir = Cli.DataDir();
        var cacheDir = Cli.CacheDir();
        var experts = new Option<string?>("--experts")
        { Description = "Expert store directory (default: the one `mim4dd experts` writes for this dataset and network)" };
        var arch = new Option<string?>("--arch")
        {
            Description = "Network to distil on and evaluate with (as `experts --arch`; default: "
                + (info.Reads("experts") ? "the experts' network)" : $"{DistillMethods.DefaultArch})"),
        };
        var ipc = new Option<int?>("--ipc")
        {
            Description = "Images per class" + Default(defaults.Options.ImagesPerClass, inPresets: true),
        };
        var synSteps = new Option<int?>("--syn-steps")
        {
            Description = "Student steps N per iteration" + Default(mtt?.SynSteps ?? bptt?.SynSteps, inPresets: true),
        };
        var expertEpochs = new Option<int?>("--expert-epochs")
        {
            Description = "Expert epochs M the student must match" + Default(mtt?.ExpertEpochs, inPresets: true),
        };
        var maxStart = new Option<int?>("--max-start-epoch")
        {
            Description = "Start epochs drawn from 0..T⁺−1 (datm: the window's final upper bound T⁺)"
                + Default(mtt?.MaxStartEpoch, inPresets: true),
        };
        var lrImg = new Option<double?>("--lr-img")
        {
            Description = "SGD lr of the images, momentum 0.5" + Default(defaults.Options.LrImg, inPresets: true),
        };
        var lrNet = new Option<double?>("--lr-net")
        {
            Description = "SGD lr of the network trained on the synthetic set" + Default(new DcOptions().LrNet),
        };
        var lrLr = new Option<double?>("--lr-lr")
        {
            Description = "SGD lr of the learnable student lr (momentum 0.5)" + Default(mtt?.LrLr ?? bptt?.LrLr, inPresets: true),
        };
        var lrTeacher = new Option<double?>("--lr-teacher")
        {
            Description = (mtt is null ? "The student's initial lr (learned)" : "Initial student lr (the experts' lr)")
                + Default(mtt?.LrTeacher ?? bptt?.LrInit, inPresets: true),
        };
        var batchSyn = new Option<int?>("--batch-syn")
        {
            Description = "Synthetic minibatch per student step (default: all images, or the preset's)",
        };
        var iterations = new Option<int?>("--iterations")
        {
            Description = "Distillation iterations" + Default(defaults.Options.Iterations),
        };
        var pixInit = new Option<string?>("--pix-init")
        {
            Description = (mtt is null ? "real or noise: start from real images or Gaussian noise"
                    : "real, correct or noise: start from real images, real images the experts classify correctly (DATM), or noise")
                + Default(defaults.Options.PixInit, inPresets: true),
        };
        var unroll = new Option<string?>("--unroll")
        {
            Description = "reverse (exact, constant memory), first-order (no Hessian terms: cheaper, approximate) or naive (whole graph)"
                + Default(mtt?.Unroll ?? bptt?.Unroll),
        };
        var softLabels = new Option<bool>("--soft-labels")
        {
            Description = "Learn a soft label (logits) per image, started from the experts' final checkpoints (DATM)"
                + Default(mtt?.SoftLabels is not null ? "on" : mtt is null ? null : "off", inPresets: true),
        };
        var lrY = new Option<double?>("--lr-y")
        {
            Description = "SGD lr of the soft labels" + Default((mtt?.SoftLabels ?? new SoftLabelOptions()).Lr, inPresets: true),
        };
        var momentumY = new Option<double?>("--momentum-y")
        {
            Description = "SGD momentum of the soft labels" + Default((mtt?.SoftLabels ?? new SoftLabelOptions()).Momentum),
        };
        var minStart = new Option<int?>("--min-start-epoch")
        {
            Description = "Start epochs drawn from min..upper−1" + Default(mtt?.Window?.Min ?? 0, inPresets: true),
        };
        var currentMax = new Option<int?>("--current-max-start-epoch")
        {
            Description = "The start-epoch window's first upper bound, grown linearly to --max-start-epoch over "
                + "--expansion-iterations" + (mtt?.Window?.Current is { } c ? Default(c, inPresets: true)
                    : " (default: none, the upper bound is --max-start-epoch throughout, or the preset's)"),
        };
        var expansion = new Option<int?>("--expansion-iterations")
        {
            Description = "Iterations over which the window's upper bound grows"
                + Default(mtt?.Window?.ExpansionIterations, inPresets: true),
        };
        var threshold = new Option<double?>("--match-threshold")
        {
            Description = "Leave the set unchanged in an iteration whose matching loss is above this (DATM's gate)"
                + Default(mtt?.MatchThreshold, inPresets: true),
        };
        var evalEvery = new Option<int>("--eval-every")
        {
            Description = "Evaluate every k iterations and at the end (0 = only at the end)",
            DefaultValueFactory = _ => Schedule.EvalEvery,
        };
        var evalRepeats = new Option<int>("--eval-repeats")
        {
            Description = "Networks per evaluation",
            DefaultValueFactory = _ => Schedule.EvalRepeats,
        };
        var evalEpochs = new Option<int>("--eval-epochs")
        {
            Description = "Epochs E of each evaluation network (the papers: 1000)",
            DefaultValueFactory = _ => Schedule.EvalEpochs,
        };
        var checkpointEvery = new Option<int>("--checkpoint-every")
        {
            Description = "Write the checkpoint every k iterations",
            DefaultValueFactory = _ => Schedule.CheckpointEvery,
        };
        var mimOptionSet = new MimCliOptions();
        var batchReal = new Option<int?>("--batch-real")
        {
            Description = (info.Reads("experts") ? "Real images per class in MIM's batch" : "Real images per class per iteration")
                + Default(defaults.BatchReal),
        };
        var mimFlag = new Option<bool>("--mim")
        {
            Description = "Add λ·MIM to datm, bptt, dm, dc or dsa, on the networks the method runs (mim4dd is mtt with it)",
        };
        var force = new Option<bool>("--force")
        {
            Description = "With --resume: continue even though options changed (the set's size and classes must stay)",
        };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint" };
        var seed = Cli.Seed();
        var threads = Cli.Threads();
        var outDir = Cli.Out();
        var command = new Command(m, $"{info.Summary} ({info.Paper})")
        {
            preset, dataset, dataDir, cacheDir, experts, arch, ipc, synSteps, expertEpochs, maxStart, lrImg, lrNet, lrLr, lrTeacher,
            batchSyn, iterations, pixInit, unroll, softLabels, lrY, momentumY, minStart, currentMax, expansion, threshold, mimFlag,
            batchReal, evalEvery, evalRepeats, evalEpochs,
            checkpointEvery, resume, force, seed, threads, outDir,
        };
        mimOptionSet.AddTo(command);
        foreach (var option in command.Options.Where(o => !info.Reads(o.Name.TrimStart('-'))).ToList()) command.Options.Remove(option);
        command.SetAction(parse => Cli.Guard(parse, threads, () =>
        {
            bool addMim = parse.GetValue(mimFlag);
            // Without --mim the MIM flags are not read: refuse them rather than ignore them.
            var unread = info.AlwaysMim || addMim ? null
                : command.Options.FirstOrDefault(o => DistillMethods.MimFlags.Contains(o.Name.TrimStart('-'))
                    && parse.GetResult(o) is { Implicit: false });
            Cli.Require(unread is null, $"{unread?.Name}", $"is a MIM flag, read only with --mim", $"add --mim, or drop {unread?.Name}");
            var chosen = parse.GetValue(preset) is { } p ? MttPresets.Find(p, m == "datm" ? "datm" : "mtt") : null;
            bool datasetGiven = parse.GetResult(dataset) is { Implicit: false };
            var name = chosen is not null && !datasetGiven ? chosen.Dataset : parse.GetValue(dataset)!;
            Cli.Require(chosen is null || string.Equals(chosen.Dataset, name, StringComparison.OrdinalIgnoreCase),
                $"--preset {parse.GetValue(preset)}",
                $"is a {chosen?.Dataset} preset but --dataset is {name}", $"drop --dataset or pick a {name} preset (`mim4dd presets`)");
            var method = info.Prepare(new GivenFlags(parse, command));
            var mimOptions = mimOptionSet.Read(parse, enabled: info.AlwaysMim || addMim);
            var schedule = new RunSchedule(CheckpointEvery: parse.GetValue(checkpointEvery), EvalEvery: parse.GetValue(evalEvery),
                EvalRepeats: parse.GetValue(evalRepeats), EvalEpochs: parse.GetValue(evalEpochs));
            OptionRange.AtLeast("--checkpoint-every", schedule.CheckpointEvery, 1, "pass e.g. 50");
            OptionRange.AtLeast("--eval-every", schedule.EvalEvery, 0, "pass e.g. 500");
            Cli.Require(!parse.GetValue(force) || parse.GetValue(resume), "--force", "only applies with --resume",
                "add --resume, or drop --force");
            Cli.Require(schedule.EvalRepeats >= 1 && schedule.EvalEpochs >= 1, "--eval-repeats/--eval-epochs", "must be at least 1",
                "pass e.g. 5 and 1000");
            var (ipcs, seedValue) = (method.Options.ImagesPerClass, method.Options.Seed);
            var run = new RunDirectory(parse.GetValue(outDir)
                ?? Path.Combine("runs", $"{m}{(addMim ? "-mim" : "")}-{name}-ipc{ipcs}-s{seedValue}")).Claim();
            var archName = parse.GetValue(arch) is { } a ? NetRegistry.Get(a).Name : null;   // unknown names fail before data loads
            using var data = Cli.LoadData(parse, name, cacheDir, dataDir);
            var log = (string line) => { Cli.Log(line); run.AppendLog(line); };
            using var distiller = method.Build(new MethodInputs(data, mimOptions, archName, parse.GetValue(experts), log,
                MachineInfo.Current()));
            DistillSession.Run(data, distiller, run, schedule, parse.GetValue(resume), log, Cli.StopRequests(), parse.GetValue(force),
                Recorded(parse, m, info.AlwaysMim || addMim));
            return 0;
        }));
        return command;
    }

    /// <summary>The flags given on the command line (none: <paramref name="parse"/> null), for the registry's readers.</summary>
    private sealed class GivenFlags(ParseResult? parse, Command? command) : IGivenFlags
    {
        private object? Given(string flag) =>
            command?.Options.FirstOrDefault(o => o.Name == "--" + flag) is { } option
                && parse?.GetResult(option) is { Implicit: false } result
                ? result.GetValueOrDefault<object>() : null;

        public T? Value<T>(string flag) where T : struct =>
            Given(flag) is { } value ? (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture) : null;

        public string? Text(string flag) => Given(flag) as string;
    }
}
