using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;

namespace Mim4dd.Distill;

/// <summary>Everything one MTT / MIM4DD distillation needs besides the data; λ = 0 (or method mtt) is plain MTT.</summary>
public sealed record MttDistillationSettings(string Method, MttOptions Options, MimOptions Mim, int BatchReal, RunSchedule Schedule, string ExpertStore);

/// <summary>
/// One MTT / MIM4DD run from an expert store to a finished run directory (config, metrics, checkpoints,
/// evaluations, synthetic set). Shared by `mim4dd distill` and the quickstart.
/// </summary>
public static class MttDistillation
{
    public const string Arch = "ConvNet";

    public static IReadOnlyList<(int Iteration, EvalResult Result)> Run(DataSplit data, MttDistillationSettings settings, RunDirectory run, bool resume,
        Action<string> log, object? machine = null, CancellationToken stop = default)
    {
        var (method, options, mimOptions) = (settings.Method, settings.Options, settings.Mim);
        options.Validate();
        mimOptions.Validate();
        var input = new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width);
        var net = NetRegistry.Build(Arch, input, data.Train.NumClasses);
        var trajectories = ExpertStore.LoadAll(settings.ExpertStore, net, data.Name);
        try
        {
            log($"{trajectories.Count} expert trajectories from {settings.ExpertStore}");
            if (trajectories[0].Metadata.Zca != options.Zca)
                throw UserError.At(settings.ExpertStore,
                    $"the experts were trained {(trajectories[0].Metadata.Zca ? "with" : "without")} ZCA but this run distils {(options.Zca ? "with" : "without")} it",
                    $"pass --experts with a store made by `mim4dd experts --zca {options.Zca.ToString().ToLowerInvariant()}`");
            var (train, test) = ExpertStore.PrepareImages(data, options.Zca, settings.ExpertStore, log);
            using (train)
            using (test)
            {
                var runner = new DistillRun(run, data, test, options.Zca ? settings.ExpertStore : null, Arch, settings.Schedule, options.Seed, log);
                var config = new { method, dataset = data.Name, experts = settings.ExpertStore, options, mim = mimOptions, batchReal = settings.BatchReal, schedule = settings.Schedule, machine };
                using var state = runner.Start(config, new { options = options with { Iterations = 0 }, mimOptions, batchReal = settings.BatchReal },
                    options.Iterations, resume, () => Mtt.Initialize(data.Train, train, options));
                // λ = 0 builds no add-on at all, so the run is bit-identical to --method mtt (spec: MIM4DD with λ = 0 is MTT).
                using var addOn = mimOptions.Enabled
                    ? new MimAddOn(net, trajectories[0].Snapshot(0), data.Train, train, mimOptions, settings.BatchReal, options.Seed, data.Name)
                    : null;
                addOn?.RestoreFrom(state);
                log($"{method}: {options.ImagesPerClass} images/class, {options.Iterations} iterations, N={options.SynSteps}, M={options.ExpertEpochs}, T+={options.MaxStartEpoch}; run directory {run.Path}");
                Mtt.Run(net, trajectories, state, options, data.Name, runner, addOn, stop);
                if (state.Iteration < options.Iterations)
                {
                    state.Save(runner.Checkpoint, runner.ConfigHash);
                    throw new RunStoppedException($"after iteration {state.Iteration} of {options.Iterations}; checkpoint {runner.Checkpoint} saved — run the same command with --resume to continue");
                }
                runner.Finish(state);
                return runner.Evaluations;
            }
        }
        finally
        {
            foreach (var t in trajectories) t.Dispose();
        }
    }
}
