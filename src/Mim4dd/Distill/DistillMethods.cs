using Mim4dd.Data;
using Mim4dd.Experts;
using Mim4dd.Runtime;

namespace Mim4dd.Distill;

/// <summary>The flags a command line gave, by name without dashes; null where one was not given, so that the options
/// record's own default applies.</summary>
public interface IGivenFlags
{
    T? Value<T>(string flag) where T : struct;
    string? Text(string flag);
}

/// <summary>What building a method needs besides its options: the data, the MIM term (disabled: λ = 0), the network
/// (null: the method's default) and, for MTT, the expert store (null: the default store for data and network).</summary>
public sealed record MethodInputs(DataSplit Data, MimOptions Mim, string? Arch, string? Experts, Action<string> Log, object? Machine);

/// <summary>A method's options read from the flags and checked before any data loads, and how to build it on the data.</summary>
/// <param name="BatchReal">Real images per class per iteration (mtt, mim4dd: MIM's).</param>
public sealed record PreparedMethod(ISetOptions Options, int BatchReal, Func<MethodInputs, IDistillMethod> Build);

/// <summary>
/// A distillation method as `mim4dd distill &lt;name&gt;`, `bench distill`, the tests and the docs list it, with the
/// flags it reads beyond every run's own (<see cref="DistillMethods.RunFlags"/>): a flag it does not read is refused.
/// </summary>
/// <param name="TakesMim">Whether `--mim` (and with it the MIM flags) can add the MIM term; mim4dd always has it.</param>
/// <param name="Prepare">Reads the method's options record from the flags (its defaults where none is given) and checks it.</param>
public sealed record DistillMethodInfo(string Name, string Summary, string Paper, IReadOnlyList<string> Flags, bool TakesMim,
    Func<IGivenFlags, PreparedMethod> Prepare)
{
    public bool AlwaysMim => Name == "mim4dd";

    /// <summary>Whether the method reads the flag named <paramref name="flag"/> (without dashes).</summary>
    public bool Reads(string flag) =>
        DistillMethods.RunFlags.Contains(flag) || Flags.Contains(flag)
        || ((TakesMim || AlwaysMim) && DistillMethods.MimFlags.Contains(flag)) || (TakesMim && flag == "mim");
}

/// <summary>The registry of distillation methods, in the order help and tables list them.</summary>
public static class DistillMethods
{
    /// <summary>The papers' network, for every method unless --arch (MTT: the experts') says otherwise.</summary>
    public const string DefaultArch = "ConvNet";

    /// <summary>A method's shape-defining options with its network: unchanged for the default network, so that the
    /// checkpoints of runs from before --arch still resume.</summary>
    public static object ShapeWithArch(string arch, object shape) => arch == DefaultArch ? shape : new { arch, shape };

    /// <summary>What every method reads: the data, the network, the set's size and init, the run's schedule and output.</summary>
    public static readonly IReadOnlySet<string> RunFlags = new HashSet<string>
    {
        "dataset", "data-dir", "cache-dir", "arch", "ipc", "iterations", "lr-img", "pix-init", "eval-every", "eval-repeats",
        "eval-epochs", "checkpoint-every", "resume", "force", "seed", "threads", "out",
    };

    /// <summary>The MIM term's flags (docs/methods.md), read by mim4dd and, with --mim, by the methods that take it.
    /// --batch-real is each method's own (mim4dd: MIM's real batch; DM, DC, DSA, BPTT: their real batch).</summary>
    public static readonly IReadOnlySet<string> MimFlags = new HashSet<string>
    {
        "lambda", "tau", "mim-critic", "mim-symmetric", "mim-features", "head-dim", "head-hidden", "mim-shared-heads", "head-lr",
        "head-steps", "mim-warmup", "mim-grad-every", "mim-balance", "mim-syn-per-class", "mim-layers", "mim-bank", "mim-bank-momentum",
    };

    private static readonly string[] Trajectory =
    [
        "preset", "experts", "syn-steps", "expert-epochs", "max-start-epoch", "lr-lr", "lr-teacher", "batch-syn", "unroll",
        "soft-labels", "lr-y", "momentum-y",
    ];

    /// <summary>DATM's own flags beyond trajectory matching's: the window of start epochs and the gate.</summary>
    private static readonly string[] DatmFlags = ["min-start-epoch", "current-max-start-epoch", "expansion-iterations", "match-threshold"];

    public static readonly IReadOnlyList<DistillMethodInfo> All =
    [
        new("mim4dd", "MTT + λ·MIM: trajectory matching with the contrastive mutual-information term", "Shang et al., NeurIPS 2023",
            [.. Trajectory, "batch-real"], false, flags => Trajectories("mim4dd", flags)),
        new("mtt", "Matching Training Trajectories on expert trajectories", "Cazenavette et al., CVPR 2022", Trajectory, false,
            flags => Trajectories("mtt", flags)),
        new("datm", "Difficulty-Aligned Trajectory Matching: MTT with a growing window of start epochs, learned soft labels and a gate",
            "Guo et al., ICLR 2024", [.. Trajectory, .. DatmFlags, "batch-real"], true, flags => Trajectories("datm", flags)),
        new("bptt", "Backpropagation through the whole inner training of a fresh network", "Deng & Russakovsky, NeurIPS 2022",
            ["syn-steps", "lr-lr", "lr-teacher", "batch-syn", "unroll", "batch-real"], true,
            flags => Prepared(BpttOptions.From(flags), o => o.BatchReal,
                (o, x) => new BpttMethod(x.Data, o, x.Mim, o.BatchReal, x.Machine, ArchOf(x)))),
        new("dm", "Distribution Matching of random networks' embeddings", "Zhao & Bilen, WACV 2023", ["batch-real"], true,
            flags => Prepared(DmOptions.From(flags), o => o.BatchReal,
                (o, x) => new DmMethod(x.Data, o, x.Mim, MimOptions.RealPerClass, x.Machine, ArchOf(x)))),
        new("dc", "Dataset Condensation by per-class gradient matching", "Zhao et al., ICLR 2021", ["lr-net", "batch-real"], true,
            flags => Prepared(DcOptions.From(flags, siamese: false), o => o.BatchReal,
                (o, x) => new DcMethod(x.Data, o, x.Mim, MimOptions.RealPerClass, x.Machine, ArchOf(x)))),
        new("dsa", "DC with Differentiable Siamese Augmentation", "Zhao & Bilen, ICML 2021", ["lr-net", "batch-real"], true,
            flags => Prepared(DcOptions.From(flags, siamese: true), o => o.BatchReal,
                (o, x) => new DcMethod(x.Data, o, x.Mim, MimOptions.RealPerClass, x.Machine, ArchOf(x)))),
    ];

    private static string ArchOf(MethodInputs inputs) => inputs.Arch ?? DefaultArch;

    private static PreparedMethod Prepared<T>(T options, Func<T, int> batchReal, Func<T, MethodInputs, IDistillMethod> build)
        where T : ISetOptions
    {
        options.Validate();
        return new(options, batchReal(options), inputs => build(options, inputs));
    }

    /// <summary>MTT, MIM4DD (MTT + λ·MIM) and DATM (with --mim: + λ·MIM), on an expert store; --batch-real is MIM's real
    /// batch.</summary>
    private static PreparedMethod Trajectories(string name, IGivenFlags flags)
    {
        int realPerClass = flags.Value<int>("batch-real") ?? MimOptions.RealPerClass;
        OptionRange.AtLeast("--batch-real", realPerClass, 1, $"pass e.g. --batch-real {MimOptions.RealPerClass}");
        return Prepared(MttOptions.From(flags, name == "datm" ? "datm" : "mtt"), _ => realPerClass, (o, x) => new MttMethod(x.Data,
            new MttDistillationSettings(name, o, x.Mim, realPerClass,
                Path.GetFullPath(x.Experts ?? ExpertStore.DefaultDirectory(x.Data.Name, ArchOf(x), o.Zca)), x.Arch),
            x.Log, x.Machine));
    }

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    public static DistillMethodInfo Get(string name) =>
        All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw UserError.At($"method {name}", "unknown method", $"use one of: {string.Join(", ", Names)}");
}
