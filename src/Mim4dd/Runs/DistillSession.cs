using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Runtime;
using Mim4dd.Train;

namespace Mim4dd.Runs;

/// <summary>Runs any <see cref="IDistillMethod"/> as a run directory: start or resume, iterate, stop cleanly or finish.</summary>
public static class DistillSession
{
    /// <param name="command">The verb's effective options by name, recorded in config.json so that the file replays the run
    /// (`--config`).</param>
    public static IReadOnlyList<(int Iteration, EvalResult Result)> Run(DataSplit data, IDistillMethod method, RunDirectory run,
        RunSchedule schedule, bool resume, Action<string> log, CancellationToken stop = default, bool force = false,
        IReadOnlyDictionary<string, object?>? command = null)
    {
        var runner = new DistillRun(run, data, method.TestImages, method.ZcaDirectory, method.Arch, schedule, method.Seed, log, stop);
        using var state = runner.Start(new { distill = method.Config, schedule, command }, method.ShapeDefiningOptions, method.Iterations,
            resume, method.Initialize, force);
        method.Restore(state);
        runner.EvaluateIfMissing(state);
        method.Run(state, runner, stop);
        if (state.Iteration < method.Iterations)
        {
            state.Save(runner.Checkpoint, runner.ConfigHash);
            throw new RunStoppedException($"after iteration {state.Iteration} of {method.Iterations}; "
                + $"checkpoint {runner.Checkpoint} saved — run the same command with --resume to continue");
        }
        // The set first (written already when the last iteration ran here), then its evaluation, then what is optional.
        runner.Finish(state);
        // A checkpoint past --iterations (resumed with a smaller count) still gets a final evaluation.
        if (!runner.HasEvaluation(method.Iterations)) runner.Evaluate(state, method.Iterations);
        runner.Report();
        return runner.Evaluations;
    }
}
