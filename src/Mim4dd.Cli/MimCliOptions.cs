using System.CommandLine;
using Mim4dd.Distill;

namespace Mim4dd.Cli;

/// <summary>The MIM estimator's options, shared by `distill` and `mi`; every default comes from <see cref="MimOptions"/>.</summary>
public sealed class MimCliOptions
{
    private static readonly MimOptions Defaults = new();

    public Option<double> Lambda { get; } = new("--lambda")
    {
        Description = "MIM weight λ (mim4dd, or with --mim; 0 = the host method alone, bit-identical); with --mim-balance > 0 "
            + "only its value " + "until the first gradient check",
        DefaultValueFactory = _ => Defaults.Lambda,
    };
    public Option<double> Tau { get; } = new("--tau")
    {
        Description = "MIM temperature τ: pair scores are cosine / τ",
        DefaultValueFactory = _ => Defaults.Temperature,
    };
    public Option<string> Critic { get; } = new("--mim-critic")
    {
        Description = "MIM critic: nce (CRD's binary critic with the 1:m prior and normaliser) or supcon (softmax over the real batch)",
        DefaultValueFactory = _ => Defaults.Critic.ToString().ToLowerInvariant(),
    };
    public Option<bool> Symmetric { get; } = new("--mim-symmetric")
    {
        Description = "SupCon: also anchor on the real samples and average both directions",
    };
    public Option<string> Features { get; } = new("--mim-features")
    {
        Description = "What a layer gives the heads: pooled (per-channel mean) or flat (the whole map); standardised across the batch "
            + "either way",
        DefaultValueFactory = _ => Defaults.Features.ToString().ToLowerInvariant(),
    };
    public Option<int> HeadDim { get; } = new("--head-dim")
    {
        Description = "MIM embedding-head output size",
        DefaultValueFactory = _ => Defaults.HeadDim,
    };
    public Option<int> HeadHidden { get; } = new("--head-hidden")
    {
        Description = "MIM head shape: 0 = Linear; w > 0 = Linear(w), ReLU, Linear",
        DefaultValueFactory = _ => Defaults.HeadHidden,
    };
    public Option<bool> SharedHeads { get; } = new("--mim-shared-heads")
    {
        Description = "One MIM head per layer for synthetic and real features (default: one per side)",
    };
    public Option<double> HeadLr { get; } = new("--head-lr")
    {
        Description = "Adam lr of the MIM heads, which train on the unweighted MIM loss (0 keeps them fixed)",
        DefaultValueFactory = _ => Defaults.HeadLearningRate,
    };
    public Option<int> HeadSteps { get; } = new("--head-steps")
    {
        Description = "Head-only Adam steps per iteration on the iteration's detached features",
        DefaultValueFactory = _ => Defaults.HeadSteps,
    };
    public Option<int> GradientCheckEvery { get; } = new("--mim-grad-every")
    {
        Description = "Every k-th iteration after the warm-up (DC/DSA: outer step), split the image gradient into the method's and MIM's "
            + "parts to log |g_DD|, |λ·g_MIM|, their cosine, and balance λ; MTT/BPTT pay one more unroll then (0: never)",
        DefaultValueFactory = _ => Defaults.GradientCheckEvery,
    };
    public Option<double> Balance { get; } = new("--mim-balance")
    {
        Description = "At every gradient check (--mim-grad-every) set λ so that |λ·g_MIM| = ρ·|g_DD|, "
            + "starting right after the warm-up; --lambda is then only the start value (0: λ fixed)",
        DefaultValueFactory = _ => Defaults.Balance,
    };
    public Option<int?> SynPerClass { get; } = new("--mim-syn-per-class")
    {
        Description = "Synthetic images per class MIM contrasts per iteration, a fresh random draw each iteration when the set has more "
            + $"(their activations keep a graph: the memory bound at IPC 50) [default: {MimOptions.DefaultSynPerClass}]",
    };
    public Option<int> Bank { get; } = new("--mim-bank")
    {
        Description = "Real embeddings per class kept across iterations and scored with each real batch, as CRD's memory: "
            + "the last n images of each class (no gradient through it; 0: none)",
        DefaultValueFactory = _ => Defaults.BankSize,
    };
    public Option<double?> BankMomentum { get; } = new("--mim-bank-momentum")
    {
        Description = "μ of the memory's update when an image it holds is drawn again: normalise(μ·old + (1 − μ)·new), as CRD's "
            + $"[default: {MimOptions.DefaultBankMomentum}]",
    };
    public Option<int> Warmup { get; } = new("--mim-warmup")
    {
        Description = "Iterations at the start in which the MIM heads learn but the images get no MIM gradient",
        DefaultValueFactory = _ => Defaults.WarmupIterations,
    };

    public Option<string?> Layers { get; } = new("--mim-layers")
    {
        Description = "Comma-separated feature taps to contrast, in this order (default: every tap; ConvNet: block0,block1,block2)",
    };

    /// <summary>Adds the estimator's options, and with <paramref name="distillation"/> those of the term in a distillation.</summary>
    public void AddTo(Command command, bool distillation = true)
    {
        foreach (var option in new Option[] { Tau, Critic, Symmetric, Features, HeadDim, HeadHidden, SharedHeads, HeadLr, Layers })
            command.Options.Add(option);
        if (distillation)
            foreach (var option in new Option[] { Lambda, HeadSteps, Warmup, GradientCheckEvery, Balance, SynPerClass, Bank, BankMomentum })
                command.Options.Add(option);
    }

    /// <summary>The options as given (defaults for those the command does not have); λ is 0 unless <paramref name="enabled"/>
    /// (the method has no MIM term).</summary>
    public MimOptions Read(ParseResult parse, bool enabled)
    {
        // GetValue of an option the command lacks gives default(T), not the option's default.
        T Value<T>(Option<T> option, T fallback) =>
            parse.CommandResult.Command.Options.Contains(option) ? parse.GetValue(option)! : fallback;
        var options = new MimOptions
        {
            Lambda = enabled ? Value(Lambda, Defaults.Lambda) : 0, Temperature = Value(Tau, Defaults.Temperature),
            Critic = Cli.ParseEnum<MimCritic>("--mim-critic", Value(Critic, Defaults.Critic.ToString())),
            Symmetric = Value(Symmetric, Defaults.Symmetric),
            Features = Cli.ParseEnum<MimFeatures>("--mim-features", Value(Features, Defaults.Features.ToString())),
            HeadDim = Value(HeadDim, Defaults.HeadDim), HeadHidden = Value(HeadHidden, Defaults.HeadHidden),
            SharedHeads = Value(SharedHeads, Defaults.SharedHeads), HeadLearningRate = Value(HeadLr, Defaults.HeadLearningRate),
            HeadSteps = Value(HeadSteps, Defaults.HeadSteps), WarmupIterations = Value(Warmup, Defaults.WarmupIterations),
            GradientCheckEvery = Value(GradientCheckEvery, Defaults.GradientCheckEvery), Balance = Value(Balance, Defaults.Balance),
            SynPerClass = Value(SynPerClass, Defaults.SynPerClass),
            BankSize = Value(Bank, Defaults.BankSize), BankMomentum = Value(BankMomentum, Defaults.BankMomentum),
            Layers = Value(Layers, null)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        options.Validate();
        return options;
    }
}
