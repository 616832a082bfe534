using System.Runtime.InteropServices;
using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Cli;

/// <summary>Options shared by several verbs, and the error-to-exit-code mapping.</summary>
public static class Cli
{
    public static Option<string?> CacheDir() => new("--cache-dir")
    { Description = "Where downloads and converted datasets live (default $MIM4DD_CACHE or ~/.cache/mim4dd)" };

    public static Option<string?> DataDir() => new("--data-dir")
    { Description = "Read the dataset from this folder instead of the cache (IDX, CIFAR python batches, tfjs PNGs, .npz, image folders)" };

    public static Option<string> Dataset(string defaultName = "mnist") => new("--dataset")
    { Description = "Dataset name: mnist, cifar10, cifar100, fashionmnist, svhn, custom", DefaultValueFactory = _ => defaultName };

    public static Option<long> Seed() => new("--seed")
    { Description = "Seed for every random step of the run", DefaultValueFactory = _ => 0 };

    public static Option<int?> Threads() => new("--threads") { Description = "Intra-op threads (default: all cores)" };

    /// <summary>Declared once on the root (recursive), read by <see cref="Guard"/> for every verb.</summary>
    public static readonly Option<string> Precision = new("--precision")
    {
        Description = "Convolutions and linear layers in fp32 (default) or bf16 (fp32 master copies; "
            + "only on CPUs with avx512_bf16/amx_bf16)",
        DefaultValueFactory = _ => "fp32", Recursive = true,
    };

    public static Option<string?> Out() => new("--out") { Description = "Run directory to write (default runs/<generated name>)" };

    public static Option<string> Augment(string defaultName = "dsa") => new("--augment")
    {
        Description = "Augmentation while training: dsa (DSA with the dataset's strategy, as DSA/DM/MTT evaluate), "
            + "dc (per-image crop/scale/rotate, as DC evaluates MNIST) or none",
        DefaultValueFactory = _ => defaultName
    };

    /// <summary>Declared once on the root (recursive), read by <see cref="Guard"/>: how <see cref="Log"/> prints.</summary>
    public static readonly Option<string> LogFormat = new("--log-format")
    {
        Description = "Progress output: text (default; one timestamped line each) or json (one object per line: time, message)",
        DefaultValueFactory = _ => "text", Recursive = true,
    };

    public static readonly Option<bool> Deterministic = new("--deterministic")
    {
        Description = "Same bytes on any core count: one thread and LibTorch's deterministic algorithms "
            + "(costs the second core: ~1.7× slower on 2 cores)",
        Recursive = true,
    };

    public static readonly Option<bool> Quiet = new("--quiet")
    { Description = "No progress output: errors still go to stderr, results to the run directory", Recursive = true };

    private static string logFormat = "text";
    private static bool quiet;

    /// <summary>A progress line on stdout (none with --quiet); a "warning: …" line goes to stderr, --quiet or not, since it
    /// says that something the user expects was not written.</summary>
    public static void Log(string message)
    {
        bool warning = message.StartsWith("warning:", StringComparison.Ordinal);
        if (quiet && !warning) return;
        (warning ? Console.Error : Console.Out).WriteLine(logFormat == "json"
            ? System.Text.Json.JsonSerializer.Serialize(new { time = DateTimeOffset.Now.ToString("o"), message })
            : $"[{DateTime.Now:HH:mm:ss}] {message}");
    }

    /// <summary>Runs a verb body: UserError → one line on stderr, exit 2; anything else → one line, exit 1.</summary>
    public static int Guard(ParseResult parse, Option<int?>? threads, Func<int> body)
    {
        try
        {
            var n = threads is null ? null : parse.GetValue(threads);
            if (n is < 1) throw UserError.At("--threads", $"must be at least 1, got {n}",
                $"pass --threads {Environment.ProcessorCount} or fewer");
            var format = parse.GetValue(LogFormat);
            logFormat = format is "text" or "json" ? format
                : throw UserError.At($"--log-format {format}", "unknown log format", "use text or json");
            quiet = parse.GetValue(Quiet);
            bool deterministic = parse.GetValue(Deterministic);
            if (deterministic && n > 1) throw UserError.At("--deterministic", $"runs on one thread, but --threads {n} was given",
                "drop --threads, or drop --deterministic");
            TorchRuntime.Start(n, deterministic);
            ComputePrecision.Set(parse.GetValue(Precision) ?? "fp32");
            int code = !quiet && logFormat == "text" && ProgressDisplay.TerminalWantsIt()
                ? ProgressDisplay.Run(ProgressDisplay.Terminal(), body)
                : body();
            if (code != 0) RunDirectory.RemoveUnused();
            return code;
        }
        catch (Exception e)
        {
            RunDirectory.RemoveUnused();
            return Report(e);
        }
    }

    /// <summary>The one line a failed command prints, and its exit code.</summary>
    private static int Report(Exception failure)
    {
        switch (failure)
        {
            case UserError e:
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            case RunFailedException e:
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            case RunStoppedException e:
                Console.Error.WriteLine($"stopped: {e.Message}");
                return 130;
            default:
                Console.Error.WriteLine($"error: {failure.GetType().Name}: {failure.Message.Split('\n')[0]} "
                    + $"(this is a bug or an environment problem; please report it with the command line)");
                return 1;
        }
    }

    public static DataSplit LoadData(ParseResult parse, Option<string> dataset, Option<string?> cacheDir, Option<string?> dataDir) =>
        LoadData(parse, parse.GetValue(dataset)!, cacheDir, dataDir);

    public static DataSplit LoadData(ParseResult parse, string name, Option<string?> cacheDir, Option<string?> dataDir)
    {
        Log($"loading {name} ...");
        var split = DatasetCatalog.Load(name, CacheDirectory.Resolve(parse.GetValue(cacheDir)), parse.GetValue(dataDir));
        Log($"{name}: {split.Train.Count} train / {split.Test.Count} test, "
            + $"{split.Train.Channels}×{split.Train.Height}×{split.Train.Width}, {split.Train.NumClasses} classes");
        return split;
    }

    /// <summary>`--output` of the verbs that print a Markdown table (compare, paired).</summary>
    public static Option<string?> TableOutput() => new("--output") { Description = "Also write the table to this Markdown file" };

    /// <summary>Prints a Markdown table and, when <paramref name="file"/> is given, writes it there too (temp file, then rename).</summary>
    public static void PrintTable(IEnumerable<string> table, string? file)
    {
        var lines = table.ToList();
        foreach (var line in lines) Console.WriteLine(line);
        if (file is not null) Mim4dd.IO.AtomicFile.WriteAllText(file, string.Join('\n', lines) + "\n");
    }

    /// <summary>
    /// Cancelled by the first Ctrl-C or SIGTERM, so a long run can stop after its current iteration and save a
    /// checkpoint; a second Ctrl-C ends the process at once.
    /// </summary>
    public static CancellationToken StopRequests()
    {
        var stop = new CancellationTokenSource();
        void Handle(PosixSignalContext context)
        {
            if (stop.IsCancellationRequested) return;
            context.Cancel = true;
            stop.Cancel();
            Log("stopping after the current iteration or epoch (press Ctrl-C again to quit at once) ...");
        }
        signalHandlers.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle));
        signalHandlers.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle));
        return stop.Token;
    }

    private static readonly List<PosixSignalRegistration> signalHandlers = new();

    /// <summary>A parse error as one line: what is wrong and the --help to read; a flag that a distillation method does not
    /// read names the methods that do.</summary>
    public static string ParseErrorLine(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
            names.Insert(0, result.Command.Name);
        var path = string.Join(' ', names.Prepend("mim4dd"));
        var token = parse.UnmatchedTokens.FirstOrDefault(t => t.StartsWith("--", StringComparison.Ordinal));
        var methods = string.Join(", ", Mim4dd.Distill.DistillMethods.Names);
        if (names is ["distill"])
            return parse.UnmatchedTokens.FirstOrDefault() is { } word && !word.StartsWith('-')
                ? $"distill {word}: unknown method; use one of {methods} (`mim4dd distill --help`)"
                : $"distill: needs a method first, one of {methods}: e.g. `mim4dd distill mim4dd --help`";
        if (names is ["distill", var method] && token is not null)
        {
            var flag = token.Split('=')[0];
            var readers = Mim4dd.Distill.DistillMethods.All.Where(m => m.Reads(flag[2..])).Select(m => m.Name).ToList();
            if (flag == "--mim" && method == "mtt")
                return "--mim: `distill mtt` does not read it; MTT with the MIM term is `distill mim4dd`";
            if (readers.Count > 0)
                return $"{flag}: `distill {method}` does not read it (read by {string.Join(", ", readers)}); "
                    + $"drop it, or see `{path} --help`";
        }
        return $"{parse.Errors[0].Message} (see `{path} --help`)";
    }

    public static void Require(bool condition, string option, string problem, string fix)
    {
        if (!condition) throw UserError.At(option, problem, fix);
    }

    /// <summary>"10,20,40" → [10, 20, 40]; every entry a positive integer.</summary>
    /// <summary>An enum option's value by name, case-insensitively; a <see cref="UserError"/> lists the names otherwise.</summary>
    public static T ParseEnum<T>(string option, string value) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
            : throw UserError.At($"{option} {value}", "unknown value",
                $"use {string.Join(" or ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    public static int[] IntList(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = parts.Select(p => int.TryParse(p, out int v) && v >= 1 ? v : -1).ToArray();
        Require(values.Length > 0 && values.All(v => v >= 1), option, $"'{text}' is not a comma-separated list of positive integers",
            $"pass e.g. {option} 10,20,40");
        return values;
    }
}
