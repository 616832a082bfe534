using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>
/// A distillation method ready to run on one dataset: it owns what it prepared (images in its space, experts,
/// add-ons) and knows how to start a synthetic set and improve it one iteration at a time.
/// </summary>
public interface IDistillMethod : IDisposable
{
    /// <summary>The network the set is distilled on, and evaluated with (NetRegistry name).</summary>
    string Arch { get; }

    int Iterations { get; }
    long Seed { get; }

    /// <summary>Every effective option, written to config.json.</summary>
    object Config { get; }

    /// <summary>The options a checkpoint depends on (hashed; --resume refuses a run whose hash differs).</summary>
    object ShapeDefiningOptions { get; }

    /// <summary>The real test images in the space the synthetic images live in (normalised, or ZCA-whitened).</summary>
    Tensor TestImages { get; }

    /// <summary>Where the run's ZCA lives (zca.bin), or null for mean/std-normalised images.</summary>
    string? ZcaDirectory { get; }

    DistillState Initialize();

    /// <summary>Takes back anything beyond images and lr the method keeps in <see cref="DistillState.Extra"/>.</summary>
    void Restore(DistillState state);

    /// <summary>Iterations state.Iteration … <see cref="Iterations"/>−1, reporting each to <paramref name="observer"/>.</summary>
    void Run(DistillState state, IDistillObserver observer, CancellationToken stop);
}

/// <summary>What one distillation iteration reports to its observer; <paramref name="Gated"/>: the set was left unchanged by
/// DATM's gate (matching loss above --match-threshold).</summary>
public sealed record IterationMetrics(int Iteration, double Loss, double MatchLoss, double ExtraLoss, double ImageGradNorm,
    double LearningRate, int Expert, int StartEpoch, double Seconds, bool Skipped = false,
    IReadOnlyDictionary<string, double>? AddOn = null, bool Gated = false);

/// <summary>Receives progress; logging, evaluation and checkpoints live there, not in the method.</summary>
public interface IDistillObserver
{
    void Iteration(IterationMetrics metrics, DistillState state);
}
