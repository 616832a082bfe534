using System.Diagnostics;
using System.Text.Json.Serialization;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>MTT's hyper-parameters with the reference flag names (Cazenavette et al. 2022); defaults = CIFAR-10 IPC 10
/// without ZCA.</summary>
public sealed record MttOptions : ISetOptions
{
    public int ImagesPerClass { get; init; } = ImageUpdate.DefaultImagesPerClass;
    public int SynSteps { get; init; } = 20;
    public int ExpertEpochs { get; init; } = 2;
    public int MaxStartEpoch { get; init; } = 20;
    public double LrImg { get; init; } = 1000;
    public double LrLr { get; init; } = 1e-5;
    public double LrTeacher { get; init; } = 0.01;

    /// <summary>Synthetic minibatch per student step; null = all images (the reference default).</summary>
    public int? BatchSyn { get; init; }

    public int Iterations { get; init; } = 5000;
    public string PixInit { get; init; } = "real";
    public bool Zca { get; init; }

    /// <summary>"reverse" (exact, constant memory), "first-order" (no Hessian terms, cheaper) or "naive" (whole graph, the
    /// reference's way).</summary>
    public string Unroll { get; init; } = "reverse";

    public long Seed { get; init; }

    // DATM's additions (Datm.cs); null leaves MTT as it was, and out of config.json and the checkpoint's hash.

    /// <summary>Learned soft labels; null = hard labels.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SoftLabelOptions? SoftLabels { get; init; }

    /// <summary>DATM's window of start epochs; null = MTT's U{0 … T⁺−1} throughout.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StartEpochWindow? Window { get; init; }

    /// <summary>DATM's gate: the set steps only when the matching loss is at most this; null = always.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MatchThreshold { get; init; }

    double ISetOptions.StartLearningRate => LrTeacher;

    public void Validate()
    {
        ImageUpdate.Check(this, otherInit: "correct");
        TrajectoryMatching.CheckStudent(SynSteps, BatchSyn, LrLr, LrTeacher, Unroll);
        OptionRange.AtLeast("--expert-epochs", ExpertEpochs, 1, "pass e.g. --expert-epochs 2");
        OptionRange.AtLeast("--max-start-epoch", MaxStartEpoch, 1, "pass e.g. --max-start-epoch 20");
        SoftLabels?.Validate();
        Datm.CheckWindow(Window, MaxStartEpoch);
        if (MatchThreshold is { } t) OptionRange.Positive("--match-threshold", t, "pass e.g. --match-threshold 1");
    }

    /// <summary>The --preset's options (without one, the method's defaults: <paramref name="method"/> mtt or datm) with the
    /// flags given.</summary>
    public static MttOptions From(IGivenFlags flags, string method = "mtt")
    {
        var d = flags.Text("preset") is { } preset ? MttPresets.Find(preset, method).Options : MttPresets.Defaults(method);
        return d with
        {
            SoftLabels = SoftLabelsFrom(flags, d.SoftLabels), Window = WindowFrom(flags, d.Window),
            MatchThreshold = flags.Value<double>("match-threshold") ?? d.MatchThreshold,
            ImagesPerClass = flags.Value<int>("ipc") ?? d.ImagesPerClass, SynSteps = flags.Value<int>("syn-steps") ?? d.SynSteps,
            ExpertEpochs = flags.Value<int>("expert-epochs") ?? d.ExpertEpochs,
            MaxStartEpoch = flags.Value<int>("max-start-epoch") ?? d.MaxStartEpoch,
            LrImg = flags.Value<double>("lr-img") ?? d.LrImg, LrLr = flags.Value<double>("lr-lr") ?? d.LrLr,
            LrTeacher = flags.Value<double>("lr-teacher") ?? d.LrTeacher, BatchSyn = flags.Value<int>("batch-syn") ?? d.BatchSyn,
            Iterations = flags.Value<int>("iterations") ?? d.Iterations, PixInit = flags.Text("pix-init") ?? d.PixInit,
            Unroll = flags.Text("unroll") ?? d.Unroll, Seed = flags.Value<long>("seed") ?? d.Seed,
        };
    }

    private static SoftLabelOptions? SoftLabelsFrom(IGivenFlags flags, SoftLabelOptions? d)
    {
        var (lr, momentum) = (flags.Value<double>("lr-y"), flags.Value<double>("momentum-y"));
        if (!(flags.Value<bool>("soft-labels") ?? d is not null))
        {
            if (lr is not null || momentum is not null)
                throw UserError.At(lr is not null ? "--lr-y" : "--momentum-y", "is read only with soft labels", "add --soft-labels");
            return null;
        }
        var on = d ?? new SoftLabelOptions();
        return on with { Lr = lr ?? on.Lr, Momentum = momentum ?? on.Momentum };
    }

    private static StartEpochWindow? WindowFrom(IGivenFlags flags, StartEpochWindow? d)
    {
        var (min, current, expansion) = (flags.Value<int>("min-start-epoch"), flags.Value<int>("current-max-start-epoch"),
            flags.Value<int>("expansion-iterations"));
        var w = d ?? new StartEpochWindow();
        w = w with { Min = min ?? w.Min, Current = current ?? w.Current, ExpansionIterations = expansion ?? w.ExpansionIterations };
        return w == new StartEpochWindow() ? null : w;   // MTT's draw, written as MTT's
    }
}

/// <summary>
/// Matching Training Trajectories (Cazenavette et al., CVPR 2022), the loop in the paper's order:
/// init the synthetic set from real images, then per iteration pick an expert segment θ*_t → θ*_{t+M},
/// unroll N student steps on the synthetic set, and step images and the student lr on the matching loss.
/// An add-on loss on the final student (MIM) enters through <paramref name="addOn"/>; DATM's window, soft labels and gate
/// (<see cref="Datm"/>) through the options.
/// </summary>
public static class Mtt
{
    /// <summary>The initial state: IPC real images per class (or Gaussian noise), lr = lr_teacher.</summary>
    public static DistillState Initialize(Dataset train, Tensor trainImages, MttOptions options) =>
        ImageUpdate.Start(train, trainImages, options);

    /// <summary>Runs iterations state.Iteration … options.Iterations−1, updating <paramref name="state"/> in place.</summary>
    public static void Run(Net net, IReadOnlyList<ExpertTrajectory> experts, DistillState state, MttOptions options, string dataset,
        IDistillObserver observer, IAddOn? addOn = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (experts.Count == 0) throw UserError.At("--experts", "no expert trajectories", "run `mim4dd experts` first");
        int epochs = experts.Min(e => e.Epochs);
        // The latest target is epoch (T⁺ − 1) + M, which must exist.
        if (options.MaxStartEpoch - 1 + options.ExpertEpochs > epochs)
            throw UserError.At("--max-start-epoch", $"{options.MaxStartEpoch} − 1 + expert epochs {options.ExpertEpochs} "
                + $"exceeds the {epochs} epochs the experts were trained for",
                $"pass --max-start-epoch {Math.Max(1, epochs - options.ExpertEpochs + 1)} or train longer experts");
        var augment = new Dsa(Dsa.StrategyFor(dataset));
        int batch = options.BatchSyn ?? (int)state.Images.shape[0];
        for (int it = state.Iteration; it < options.Iterations && !cancel.IsCancellationRequested; it++)
        {
            using var scope = NewDisposeScope();   // every temporary of the iteration; state tensors are detached from it
            var clock = Stopwatch.StartNew();
            var (expert, start) = Segment(options, experts.Count, it);
            var target = experts[expert].Snapshot(start + options.ExpertEpochs);
            var unroll = new Unroll(net, experts[expert].Snapshot(start), target,
                state.Images, state.TrainingLabels, state.LearningRate, options.SynSteps, batch, augment, (long)Rng.Mix(options.Seed, it));
            Func<Tensor, Tensor>? extra = addOn is null ? null : final => addOn.Loss(final, target, state.Images, state.Labels, it);
            var (grads, diagnostics) = Gradients(options.Unroll, unroll, extra, addOn, it, plainLoss: null);
            using var _ = grads;
            bool gated = options.MatchThreshold is { } limit && grads.MatchLoss > limit;
            var labels = options.SoftLabels is { } soft ? new LabelStep(grads.Labels!, soft.Lr, soft.Momentum) : null;
            bool stepped = ImageUpdate.Step(state, it, grads.Loss, grads.Images, options.LrImg, addOn, grads.LearningRate, options.LrLr,
                blame: addOn is null ? null : () => BlameTerm(options.Unroll, unroll), labels, gated);
            observer.Iteration(new IterationMetrics(it, grads.Loss, grads.MatchLoss, grads.ExtraLoss, grads.Images.norm().item<float>(),
                state.LearningRate.item<float>(), expert, start, clock.Elapsed.TotalSeconds, Skipped: !stepped, diagnostics,
                Gated: gated), state);
        }
    }

    /// <summary>
    /// The unroll's gradients for <paramref name="loss"/> on the final student (the add-on's term included), split at
    /// the add-on's check iterations into the method's part and the add-on's, with the diagnostics of the iteration.
    /// <paramref name="plainLoss"/> is the loss without the add-on (null: MTT's matching loss alone).
    /// </summary>
    internal static (UnrollGradients Gradients, IReadOnlyDictionary<string, double>? Diagnostics) Gradients(string path, Unroll unroll,
        Func<Tensor, Tensor>? loss, IAddOn? addOn, int iteration, Func<Tensor, Tensor>? plainLoss)
    {
        var grads = TrajectoryMatching.Compute(path, unroll, loss);
        if (addOn is null || !addOn.ChecksGradient(iteration)) return (grads, AddOnSplit.Diagnostics(addOn, null));
        var (split, readings) = GradientSplit(path, unroll, grads, addOn, plainLoss);
        return (split, AddOnSplit.Diagnostics(addOn, readings));
    }

    /// <summary>
    /// The same unroll without the add-on (same batches and augmentations) gives g_DD exactly; g_add-on = g − g_DD.
    /// The add-on may then rescale its part (see <see cref="AddOnSplit"/>). Takes ownership of <paramref name="total"/>.
    /// </summary>
    private static (UnrollGradients Gradients, Dictionary<string, double> Readings) GradientSplit(string path, Unroll unroll,
        UnrollGradients total, IAddOn addOn, Func<Tensor, Tensor>? plainLoss)
    {
        var plain = TrajectoryMatching.Compute(path, unroll, plainLoss);
        using var scope = NewDisposeScope();
        var addOnPart = total.Images.sub(plain.Images);
        var (factor, readings) = AddOnSplit.Rebalance(plain.Images, addOnPart, addOn);
        if (factor == 1)
        {
            plain.Dispose();
            return (total, readings);
        }
        var images = plain.Images.Plus(addOnPart.Times(factor)).MoveToOuterDisposeScope();
        var lr = plain.LearningRate.Plus(total.LearningRate.sub(plain.LearningRate).Times(factor)).MoveToOuterDisposeScope();
        var labels = plain.Labels?.Plus(total.Labels!.sub(plain.Labels).Times(factor)).MoveToOuterDisposeScope();
        var rebalanced = new UnrollGradients(plain.MatchLoss, plain.ExtraLoss + factor * (total.ExtraLoss - plain.ExtraLoss), images, lr,
            total.FinalParameters.clone().MoveToOuterDisposeScope(), labels);
        plain.Dispose();
        total.Dispose();
        return (rebalanced, readings);
    }

    /// <summary>
    /// Which term made a non-finite iteration: the same unroll (same batches and augmentations) without the add-on.
    /// Run only when a run stops, so it costs one unroll once.
    /// </summary>
    private static (string Finding, string Lower) BlameTerm(string path, Unroll unroll)
    {
        using var plain = TrajectoryMatching.Compute(path, unroll);
        return ImageUpdate.NonFinite(plain.Loss, plain.Images, plain.LearningRate) is null
            ? ("; the same unroll without the MIM term is finite, so the MIM term made it",
                "--mim-balance (or --lambda with --mim-balance 0)")
            : ("; the same unroll without the MIM term is not finite either, so the matching term made it", "--lr-img or --lr-lr");
    }

    /// <summary>The reference's choice per iteration: experts in a shuffled order per pass, start epoch ~ U{0..T⁺−1} (DATM:
    /// from its window, <see cref="Datm.StartRange"/>).</summary>
    public static (int Expert, int Start) Segment(MttOptions options, int expertCount, int iteration)
    {
        int pass = iteration / expertCount;
        var order = Enumerable.Range(0, expertCount).ToArray();
        Rng.Managed(options.Seed, 500_000 + pass).Shuffle(order);
        var (min, upper) = Datm.StartRange(options, iteration);
        return (order[iteration % expertCount], Rng.Managed(options.Seed, 600_000 + iteration).Next(min, upper));
    }
}

/// <summary>Everything an MTT / MIM4DD run needs besides the data; λ = 0 (or method mtt) is plain MTT. The network is
/// the experts' unless <paramref name="Arch"/> names one (then the store must match it).</summary>
public sealed record MttDistillationSettings(string Method, MttOptions Options, MimOptions Mim, int BatchReal, string ExpertStore,
    string? Arch = null);

/// <summary>MTT, or MTT + λ·MIM (MIM4DD), on an expert store, as an <see cref="IDistillMethod"/>.</summary>
public sealed class MttMethod : IDistillMethod
{
    private readonly DataSplit data;
    private readonly MttDistillationSettings settings;
    private readonly Net net;
    private readonly List<ExpertTrajectory> experts;
    private readonly Tensor train;
    private readonly MimAddOn? addOn;

    private readonly Action<string> log;

    public MttMethod(DataSplit data, MttDistillationSettings settings, Action<string> log, object? machine = null)
    {
        this.log = log;
        var (options, mim) = (settings.Options, settings.Mim);
        options.Validate();
        mim.Validate();
        this.data = data;
        this.settings = settings;
        var storeArch = ExpertStore.Arch(settings.ExpertStore)
            ?? throw UserError.At(settings.ExpertStore, "no expert files (expert_NNNN.m4e) here",
                $"train them with `mim4dd experts --dataset {data.Name} --zca {options.Zca.ToString().ToLowerInvariant()}"
                + $"{(settings.Arch is { } a ? $" --arch {a}" : "")}` "
                + $"(this run distils {(options.Zca ? "with" : "without")} ZCA), or pass --experts DIR");
        Arch = settings.Arch ?? storeArch;
        net = NetRegistry.Build(Arch, new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.NumClasses);
        experts = ExpertStore.LoadAll(settings.ExpertStore, net, data.Name);
        try
        {
            log($"{experts.Count} expert trajectories from {settings.ExpertStore}");
            if (experts[0].Metadata.Zca != options.Zca)
                throw UserError.At(settings.ExpertStore,
                    $"the experts were trained {(experts[0].Metadata.Zca ? "with" : "without")} ZCA "
                    + $"but this run distils {(options.Zca ? "with" : "without")} it",
                    $"pass --experts with a store made by `mim4dd experts --zca {options.Zca.ToString().ToLowerInvariant()}`");
            (train, TestImages) = ExpertStore.PrepareImages(data, options.Zca, settings.ExpertStore, log);
            // λ = 0 builds no add-on at all, so the run is bit-identical to --method mtt (spec: MIM4DD with λ = 0 is MTT).
            addOn = mim.Enabled
                ? new MimAddOn(net, experts[0].Snapshot(0), data.Train, train, mim, settings.BatchReal, options.Seed, data.Name)
                : null;
        }
        catch
        {
            Dispose();
            throw;
        }
        Config = new
        {
            method = mim.Name(settings.Method), dataset = data.Name, arch = Arch, experts = settings.ExpertStore, options, mim,
            batchReal = settings.BatchReal, machine,
        };
        log($"{settings.Method}: {options.ImagesPerClass} images/class, {options.Iterations} iterations, "
            + $"N={options.SynSteps}, M={options.ExpertEpochs}, T+={options.MaxStartEpoch}");
    }

    public string Arch { get; }
    public int Iterations => settings.Options.Iterations;
    public long Seed => settings.Options.Seed;
    public object Config { get; }
    public object ShapeDefiningOptions => DistillMethods.ShapeWithArch(Arch,
        new { options = settings.Options with { Iterations = 0 }, mimOptions = settings.Mim, batchReal = settings.BatchReal });
    public Tensor TestImages { get; } = null!;
    public string? ZcaDirectory => settings.Options.Zca ? settings.ExpertStore : null;

    public DistillState Initialize()
    {
        var o = settings.Options;
        var state = o.PixInit == "correct"
            ? ImageUpdate.Start(data.Train, train, o,
                g => Datm.CorrectlyClassified(net, experts[0], data.Train, train, o.ImagesPerClass, g))
            : Mtt.Initialize(data.Train, train, o);
        if (o.SoftLabels is null) return state;
        var (logits, noCorrect) = Datm.InitialSoftLabels(net, experts, state.Images.detach(), state.Labels);
        state.SoftLabels = logits.requires_grad_();
        log($"soft labels: the logits of the experts' final checkpoints that classify each image correctly"
            + (noCorrect > 0 ? $"; {noCorrect} image(s) no expert classifies correctly take all experts' mean" : ""));
        return state;
    }
    public void Restore(DistillState state) => addOn?.RestoreFrom(state);

    public void Run(DistillState state, IDistillObserver observer, CancellationToken stop) =>
        Mtt.Run(net, experts, state, settings.Options, data.Name, observer, addOn, stop);

    public void Dispose()
    {
        addOn?.Dispose();
        train?.Dispose();
        TestImages?.Dispose();
        foreach (var e in experts ?? []) e.Dispose();
    }
}
