using System.Text.Json.Serialization;
using Mim4dd.Runtime;

namespace Mim4dd.Distill;

/// <summary>How a layer's (synthetic, real) pair scores become L_MIM (spec/mim4dd.md §2.4 and §8).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MimCritic>))]
public enum MimCritic
{
    /// <summary>CRD's binary NCE critic with in-batch negatives (N/M = 1): a binary cross-entropy on σ(s/τ).</summary>
    Bce,

    /// <summary>Supervised InfoNCE: each synthetic anchor's softmax over the real batch, averaged over its same-label pairs.</summary>
    SupCon,
}

/// <summary>
/// Options of the MIM4DD term (spec/mim4dd.md §2.3–2.5 and §5; every default is inferred, the paper's
/// values were not recovered).
/// </summary>
/// <remarks>
/// The synthetic images are the anchors, one direction only. For the binary form that loses nothing: anchoring on
/// real samples scores the same pairs with the same labels and the same P, so both directions give the same number.
/// For SupCon a symmetric variant (also a softmax over the synthetic batch per real image) would differ; it is not
/// implemented.
/// </remarks>
public sealed record MimOptions
{
    /// <summary>λ in L = L_DD + λ·L_MIM (spec §2.5). 0 turns the term off: callers then skip it entirely.</summary>
    public double Lambda { get; init; } = 0.1;

    /// <summary>τ: pair scores are cosine similarity / τ (CRD's default, spec §2.3).</summary>
    public double Temperature { get; init; } = 0.1;

    /// <summary>
    /// The loss over pair scores. Bce, the spec's reading, is the default; its heads settle at the value of scoring
    /// every pair alike (−ln 0.1 − 9 ln 0.9 per layer at 10 classes), so the term carries almost no class signal.
    /// SupCon is shift-invariant and does separate the classes, but on MNIST IPC 10 at the quick budget it cost
    /// accuracy at every λ tried (docs/results.md, "The MIM critic"); on CIFAR-10 IPC 1 it scored +0.32 over MTT.
    /// </summary>
    public MimCritic Critic { get; init; } = MimCritic.Bce;

    /// <summary>Output size of each embedding head (spec §2.3: 128).</summary>
    public int HeadDim { get; init; } = 128;

    /// <summary>Feature taps to contrast, in this order; null uses every tap of the network (ConvNet-3: its three blocks).</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>Learning rate of the heads' own SGD (momentum 0.5); 0 keeps the random heads fixed.</summary>
    public double HeadLearningRate { get; init; } = 0.01;

    /// <summary>
    /// Iterations at the start in which the heads learn but the images get no gradient from the term. Random heads
    /// score pairs far from any class structure, and their first gradient on the images can be ten times the matching
    /// one (CIFAR-10 IPC 1, binary critic: 0.32 against 0.035 at iteration 0), which lr_img 1000 turns into a jump
    /// the set does not recover from (docs/results.md, CIFAR-10 section). With 20, that run scored 40.27 against
    /// 38.23 without warm-up and 40.73 for MTT. The paper has no warm-up; 0 restores its schedule.
    /// </summary>
    public int WarmupIterations { get; init; } = 20;

    /// <summary>Whether the term contributes at all; when false, build no <see cref="Mim"/> and call nothing.</summary>
    public bool Enabled => Lambda > 0;

    /// <summary>Real images per class in MIM's batch for methods whose own --batch-real means something else (DM, DC, DSA): the spec's n_r.</summary>
    public const int RealPerClass = 32;

    /// <summary>Throws a <see cref="UserError"/> naming the first option outside its valid range.</summary>
    public void Validate()
    {
        // Negated comparisons so that NaN is rejected too.
        if (!(Lambda >= 0))
            throw UserError.At("--lambda", $"must be ≥ 0, got {Lambda}", "pass --lambda 0.1, or 0 to turn MIM off");
        if (!(Temperature > 0))
            throw UserError.At("--tau", $"must be > 0, got {Temperature}", "pass --tau 0.1 (CRD's default)");
        OptionRange.AtLeast("--head-dim", HeadDim, 1, "pass --head-dim 128");
        OptionRange.AtLeast("--mim-warmup", WarmupIterations, 0, "pass --mim-warmup 20, or 0 for none");
        if (!(HeadLearningRate >= 0))
            throw UserError.At("--head-lr", $"must be ≥ 0, got {HeadLearningRate}", "pass --head-lr 0.01, or 0 to keep the heads fixed");
        if (Layers is { Count: 0 })
            throw UserError.At("--mim-layers", "names no layer", "leave it out to use every feature tap, or name taps such as block0,block2");
    }
}
