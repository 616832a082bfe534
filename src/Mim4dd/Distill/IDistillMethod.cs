using Mim4dd.Data;
using Mim4dd.IO;
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

/// <summary>Runs any <see cref="IDistillMethod"/> as a run directory: start or resume, iterate, stop cleanly or finish.</summary>
public static class DistillSession
{
    /// <summary>The papers' network, for every method unless --arch (MTT: the experts') says otherwise.</summary>
    public const string DefaultArch = "ConvNet";

    /// <summary>A method's shape-defining options with its network: unchanged for the default network, so that the
    /// checkpoints of runs from before --arch still resume.</summary>
    public static object ShapeWithArch(string arch, object shape) => arch == DefaultArch ? shape : new { arch, shape };

    /// <param name="command">The verb's effective options by name, recorded in config.json so that the file replays the run (`--config`).</param>
    public static IReadOnlyList<(int Iteration, EvalResult Result)> Run(DataSplit data, IDistillMethod method, RunDirectory run, RunSchedule schedule,
        bool resume, Action<string> log, CancellationToken stop = default, bool force = false, IReadOnlyDictionary<string, object?>? command = null)
    {
        var runner = new DistillRun(run, data, method.TestImages, method.ZcaDirectory, method.Arch, schedule, method.Seed, log, stop);
        using var state = runner.Start(new { distill = method.Config, schedule, command }, method.ShapeDefiningOptions, method.Iterations, resume, method.Initialize, force);
        method.Restore(state);
        runner.EvaluateIfMissing(state);
        method.Run(state, runner, stop);
        if (state.Iteration < method.Iterations)
        {
            state.Save(runner.Checkpoint, runner.ConfigHash);
            throw new RunStoppedException($"after iteration {state.Iteration} of {method.Iterations}; checkpoint {runner.Checkpoint} saved — run the same command with --resume to continue");
        }
        // The set first (written already when the last iteration ran here), then its evaluation, then what is optional.
        runner.Finish(state);
        // A checkpoint past --iterations (resumed with a smaller count) still gets a final evaluation.
        if (!runner.HasEvaluation(method.Iterations)) runner.Evaluate(state, method.Iterations);
        runner.Report();
        return runner.Evaluations;
    }
}
