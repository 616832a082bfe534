using System.Text.Json.Serialization;
using Mim4dd.Runtime;

namespace Mim4dd.Distill;

/// <summary>How a layer's (synthetic, real) pair scores become L_MIM (docs/methods.md, "MIM4DD").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MimCritic>))]
public enum MimCritic
{
    /// <summary>CRD's binary NCE critic h = σ(s/τ − ln m − ln Z̄): the 1:m prior and the normaliser Z̄ built in.</summary>
    Nce,

    /// <summary>Supervised InfoNCE: each synthetic anchor's softmax over the real batch, averaged over its same-label pairs.</summary>
    SupCon,
}

/// <summary>What a feature tap gives the heads.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MimFeatures>))]
public enum MimFeatures
{
    /// <summary>Global average pool per channel, as CRD and CMIM contrast pooled features.</summary>
    Pooled,

    /// <summary>The whole map flattened to C·H·W values.</summary>
    Flat,
}

/// <summary>Options of the MIM4DD term; the paper's values were not published, the defaults are ours (docs/methods.md).</summary>
public sealed record MimOptions
{
    /// <summary>λ in L = L_DD + λ·L_MIM. 0 turns the term off: callers then skip it entirely.</summary>
    public double Lambda { get; init; } = 0.1;

    /// <summary>τ: pair scores are cosine similarity / τ.</summary>
    public double Temperature { get; init; } = 0.1;

    public MimCritic Critic { get; init; } = MimCritic.Nce;

    /// <summary>SupCon only: also anchor on every real sample (softmax over the synthetic batch) and average both directions.
    /// The binary critic scores the same pairs either way, so it is symmetric already (and refuses the flag).</summary>
    public bool Symmetric { get; init; }

    /// <summary>Real embeddings per class kept across iterations and scored with the real batch (CRD's memory, holding the
    /// last images of each class; 0: none). Left out of the JSON when 0, so checkpoints from before it still resume.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int BankSize { get; init; }

    /// <summary>μ of the memory's update of an image it already holds, normalise(μ·old + (1 − μ)·new) (null:
    /// <see cref="DefaultBankMomentum"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BankMomentum { get; init; }

    /// <summary>CRD's momentum of its memory (nce_m).</summary>
    public const double DefaultBankMomentum = 0.5;

    public MimFeatures Features { get; init; } = MimFeatures.Pooled;

    /// <summary>Output size of each embedding head.</summary>
    public int HeadDim { get; init; } = 128;

    /// <summary>0: each head is Linear then L2-normalise; w &gt; 0: Linear(→w), ReLU, Linear(→HeadDim), L2-normalise.</summary>
    public int HeadHidden { get; init; }

    /// <summary>One head per layer for both sides instead of one per side.</summary>
    public bool SharedHeads { get; init; }

    /// <summary>Feature taps to contrast, in this order; null uses every tap of the network (ConvNet-3: its three blocks).</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>Adam learning rate of the heads, which train on the unweighted L_MIM; 0 keeps the random heads fixed.</summary>
    public double HeadLearningRate { get; init; } = 1e-3;

    /// <summary>Head-only Adam steps per call, on the call's detached features, before the images' gradient is taken.</summary>
    public int HeadSteps { get; init; } = 5;

    /// <summary>Iterations at the start in which the heads learn but the images get no gradient from the term.</summary>
    public int WarmupIterations { get; init; } = 10;

    /// <summary>Every k-th iteration (DC/DSA: outer step) once the term reaches the images, the image gradient is split
    /// into the method's and the term's parts, to log |g_DD|, |λ·g_MIM| and their cosine and to balance λ. MTT and BPTT
    /// unroll once more without the term (that iteration costs about twice as much); DM and DC take one more backward
    /// pass. 0 turns it off.</summary>
    public int GradientCheckEvery { get; init; } = 10;

    /// <summary>ρ &gt; 0: every gradient check re-sets λ so that |λ·g_MIM| = ρ·|g_DD| (--lambda is only the start value),
    /// and the first check comes right after the warm-up, so the term never outweighs the method's gradient unseen.
    /// 0 keeps λ fixed (the paper's form). Why balanced by default: docs/methods.md, "Balance".</summary>
    public double Balance { get; init; } = 0.25;

    /// <summary>Synthetic images per class the term contrasts in one iteration (null: <see cref="DefaultSynPerClass"/>),
    /// drawn afresh each iteration when the set has more: the features of every synthetic image keep their graph for the
    /// images' gradient, so at CIFAR-100 IPC 50 (5,000 images) the whole set does not fit in 24 GB. A set with at most
    /// this many per class is used whole. Left out of the JSON when null, so checkpoints from before it still resume.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SynPerClass { get; init; }

    public const int DefaultSynPerClass = 10;

    /// <summary>Whether the term contributes at all; when false, build no <see cref="Mim"/> and call nothing.</summary>
    public bool Enabled => Lambda > 0;

    /// <summary>The method's name in config.json and compare: "dm+mim", "datm+mim" with the add-on on (mim4dd is MTT + MIM
    /// by name).</summary>
    public string Name(string method) => Enabled && method != "mim4dd" ? method + "+mim" : method;

    /// <summary>Real images per class in MIM's batch: mim4dd's --batch-real when none is given, and always for the methods
    /// whose own --batch-real means something else (DM, DC, DSA).</summary>
    public const int RealPerClass = 32;

    /// <summary>Throws a <see cref="UserError"/> naming the first option outside its valid range.</summary>
    public void Validate()
    {
        // Negated comparisons so that NaN is rejected too.
        if (!(Lambda >= 0))
            throw UserError.At("--lambda", $"must be ≥ 0, got {Lambda}", "pass --lambda 0.1, or 0 to turn MIM off");
        Estimator.Validate();
        OptionRange.AtLeast("--mim-syn-per-class", SynPerClass ?? DefaultSynPerClass, 1, $"pass --mim-syn-per-class {DefaultSynPerClass}");
        if (BankMomentum is not null && BankSize == 0)
            throw UserError.At("--mim-bank-momentum", "applies only with a memory", "pass --mim-bank n as well, or drop it");
        OptionRange.AtLeast("--mim-warmup", WarmupIterations, 0, "pass --mim-warmup 10, or 0 for none");
        OptionRange.AtLeast("--mim-grad-every", GradientCheckEvery, 0, "pass --mim-grad-every 10, or 0 for none");
        if (!(Balance >= 0))
            throw UserError.At("--mim-balance", $"must be ≥ 0, got {Balance}", "pass --mim-balance 0.25, or 0 for a fixed λ");
        if (Balance > 0 && GradientCheckEvery == 0)
            throw UserError.At("--mim-grad-every", $"0 turns off the gradient split that --mim-balance {Balance} balances λ on",
                "pass --mim-balance 0 as well for a fixed λ, or --mim-grad-every 10");
    }

    /// <summary>The estimator's part, all that <see cref="Mim"/> reads; λ, the warm-up, the gradient checks, the balance
    /// and the synthetic draw are the add-on's (<see cref="MimAddOn"/>). Not serialised: the record above is.</summary>
    [JsonIgnore]
    public MimEstimatorOptions Estimator =>
        new(Temperature, Critic, Symmetric, Features, HeadDim, HeadHidden, SharedHeads, Layers, HeadLearningRate, HeadSteps, BankSize,
            BankMomentum ?? DefaultBankMomentum);
}

/// <summary>The MIM estimator's options (<see cref="MimOptions.Estimator"/>; each documented there).</summary>
public sealed record MimEstimatorOptions(double Temperature, MimCritic Critic, bool Symmetric, MimFeatures Features, int HeadDim,
    int HeadHidden, bool SharedHeads, IReadOnlyList<string>? Layers, double HeadLearningRate, int HeadSteps, int BankSize = 0,
    double BankMomentum = MimOptions.DefaultBankMomentum)
{
    public void Validate()
    {
        if (!(Temperature > 0))
            throw UserError.At("--tau", $"must be > 0, got {Temperature}", "pass --tau 0.1");
        OptionRange.AtLeast("--head-dim", HeadDim, 1, "pass --head-dim 128");
        OptionRange.AtLeast("--head-hidden", HeadHidden, 0, "pass --head-hidden 0 for a linear head");
        OptionRange.AtLeast("--head-steps", HeadSteps, 0, "pass --head-steps 5");
        if (!(HeadLearningRate >= 0))
            throw UserError.At("--head-lr", $"must be ≥ 0, got {HeadLearningRate}", "pass --head-lr 0.001, or 0 to keep the heads fixed");
        if (Symmetric && Critic == MimCritic.Nce)
            throw UserError.At("--mim-symmetric", "applies to --mim-critic supcon: the nce critic scores every (synthetic, real) pair "
                + "once, so it is symmetric already", "drop --mim-symmetric (to resume a run that had it: --resume --force), "
                + "or pass --mim-critic supcon");
        OptionRange.AtLeast("--mim-bank", BankSize, 0, "pass --mim-bank 0 for no memory, or e.g. --mim-bank 64");
        if (!(BankMomentum >= 0 && BankMomentum < 1))
            throw UserError.At("--mim-bank-momentum", $"must be in [0, 1), got {BankMomentum}",
                $"pass --mim-bank-momentum {MimOptions.DefaultBankMomentum}");
        if (Layers is { Count: 0 })
            throw UserError.At("--mim-layers", "names no layer",
                "leave it out to use every feature tap, or name taps such as block0,block2");
    }
}
