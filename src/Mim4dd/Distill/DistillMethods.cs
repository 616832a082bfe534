using Mim4dd.Runtime;

namespace Mim4dd.Distill;

/// <summary>
/// A distillation method as `mim4dd distill &lt;name&gt;`, `bench distill`, the tests and the docs list it, with the
/// flags it reads beyond every run's own (<see cref="DistillMethods.RunFlags"/>): a flag it does not read is refused.
/// </summary>
/// <param name="TakesMim">Whether `--mim` (and with it the MIM flags) can add the MIM term; mim4dd always has it.</param>
public sealed record DistillMethodInfo(string Name, string Summary, string Paper, IReadOnlyList<string> Flags, bool TakesMim)
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
        "head-steps", "mim-warmup", "mim-grad-every", "mim-balance", "mim-syn-per-class", "mim-layers",
    };

    private static readonly string[] Trajectory =
        ["preset", "experts", "syn-steps", "expert-epochs", "max-start-epoch", "lr-lr", "lr-teacher", "batch-syn", "unroll"];

    public static readonly IReadOnlyList<DistillMethodInfo> All =
    [
        new("mim4dd", "MTT + λ·MIM: trajectory matching with the contrastive mutual-information term", "Shang et al., NeurIPS 2023",
            [.. Trajectory, "batch-real"], false),
        new("mtt", "Matching Training Trajectories on expert trajectories", "Cazenavette et al., CVPR 2022", Trajectory, false),
        new("bptt", "Backpropagation through the whole inner training of a fresh network", "Deng & Russakovsky, NeurIPS 2022",
            ["syn-steps", "lr-lr", "lr-teacher", "batch-syn", "unroll", "batch-real"], true),
        new("dm", "Distribution Matching of random networks' embeddings", "Zhao & Bilen, WACV 2023", ["batch-real"], true),
        new("dc", "Dataset Condensation by per-class gradient matching", "Zhao et al., ICLR 2021", ["lr-net", "batch-real"], true),
        new("dsa", "DC with Differentiable Siamese Augmentation", "Zhao & Bilen, ICML 2021", ["lr-net", "batch-real"], true),
    ];

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    public static DistillMethodInfo Get(string name) =>
        All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw UserError.At($"method {name}", "unknown method", $"use one of: {string.Join(", ", Names)}");
}
