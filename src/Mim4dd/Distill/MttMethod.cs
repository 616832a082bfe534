using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

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

    public MttMethod(DataSplit data, MttDistillationSettings settings, Action<string> log, object? machine = null)
    {
        var (options, mim) = (settings.Options, settings.Mim);
        options.Validate();
        mim.Validate();
        this.data = data;
        this.settings = settings;
        var storeArch = ExpertStore.Arch(settings.ExpertStore)
            ?? throw UserError.At(settings.ExpertStore, "no expert files (expert_NNNN.m4e) here",
                $"train them with `mim4dd experts --dataset {data.Name} --zca {options.Zca.ToString().ToLowerInvariant()}"
                + $"{(settings.Arch is { } a ? $" --arch {a}" : "")}` (this run distils {(options.Zca ? "with" : "without")} ZCA), or pass --experts DIR");
        Arch = settings.Arch ?? storeArch;
        net = NetRegistry.Build(Arch, new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.NumClasses);
        experts = ExpertStore.LoadAll(settings.ExpertStore, net, data.Name);
        try
        {
            log($"{experts.Count} expert trajectories from {settings.ExpertStore}");
            if (experts[0].Metadata.Zca != options.Zca)
                throw UserError.At(settings.ExpertStore,
                    $"the experts were trained {(experts[0].Metadata.Zca ? "with" : "without")} ZCA but this run distils {(options.Zca ? "with" : "without")} it",
                    $"pass --experts with a store made by `mim4dd experts --zca {options.Zca.ToString().ToLowerInvariant()}`");
            (train, TestImages) = ExpertStore.PrepareImages(data, options.Zca, settings.ExpertStore, log);
            // λ = 0 builds no add-on at all, so the run is bit-identical to --method mtt (spec: MIM4DD with λ = 0 is MTT).
            addOn = mim.Enabled ? new MimAddOn(net, experts[0].Snapshot(0), data.Train, train, mim, settings.BatchReal, options.Seed, data.Name) : null;
        }
        catch
        {
            Dispose();
            throw;
        }
        Config = new
        {
            method = settings.Method, dataset = data.Name, arch = Arch, experts = settings.ExpertStore, options, mim,
            batchReal = settings.BatchReal, machine,
        };
        log($"{settings.Method}: {options.ImagesPerClass} images/class, {options.Iterations} iterations, N={options.SynSteps}, M={options.ExpertEpochs}, T+={options.MaxStartEpoch}");
    }

    public string Arch { get; }
    public int Iterations => settings.Options.Iterations;
    public long Seed => settings.Options.Seed;
    public object Config { get; }
    public object ShapeDefiningOptions => DistillSession.ShapeWithArch(Arch,
        new { options = settings.Options with { Iterations = 0 }, mimOptions = settings.Mim, batchReal = settings.BatchReal });
    public Tensor TestImages { get; } = null!;
    public string? ZcaDirectory => settings.Options.Zca ? settings.ExpertStore : null;

    public DistillState Initialize() => Mtt.Initialize(data.Train, train, settings.Options);
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
