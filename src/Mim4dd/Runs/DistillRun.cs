using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Runs;

/// <summary>How often a run logs, checkpoints and evaluates, and with which protocol.</summary>
public sealed record RunSchedule(int LogEvery = 10, int CheckpointEvery = 50, int EvalEvery = 500, int EvalRepeats = 5,
    int EvalEpochs = 1000);

/// <summary>
/// A distillation as a run directory: config.json, metrics.jsonl (one line per iteration), evals.jsonl,
/// checkpoint.safetensors (atomic), syn.safetensors at the end; --resume continues from the checkpoint.
/// </summary>
/// <param name="stop">Also ends an evaluation between epochs: its finished nets are kept in eval-nets.jsonl and the
/// state is checkpointed, so --resume evaluates only the missing nets.</param>
public sealed class DistillRun(RunDirectory run, DataSplit data, Tensor testImages, string? zcaDirectory, string arch, RunSchedule schedule,
    long seed, Action<string> log, CancellationToken stop = default) : IDistillObserver
{
    public string Checkpoint => run.Checkpoint;
    public string Metrics => run.Metrics;
    public string Evals => run.Evals;
    public List<(int Iteration, EvalResult Result)> Evaluations { get; } = new();
    public string ConfigHash { get; private set; } = "";
    private int iterations;
    private int iterationsTimed;     // iterations run by this process (a resumed run starts counting again)
    private double secondsTimed;

    /// <summary>Writes config.json and returns the state to start from: the checkpoint when resuming, else a fresh one.</summary>
    /// <param name="force">Resume a checkpoint written with other options, as long as the set keeps its shape; config.json
    /// then records the new options.</param>
    public DistillState Start(object config, object shapeDefiningOptions, int totalIterations, bool resume, Func<DistillState> fresh,
        bool force = false)
    {
        iterations = totalIterations;
        // Checkpoints (images, momentum, MIM heads: up to ~70 MB each for CIFAR-10) written atomically, plus the set's files.
        DiskSpace.Require(run.Path, 256L << 20, "a distillation run's checkpoints and outputs");
        ConfigHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(shapeDefiningOptions))));
        if (resume && File.Exists(Checkpoint))
        {
            if (AtomicFile.DeleteStaleTemps(run.Path) is > 0 and var stale)
                log($"removed {stale} partial file(s) left by a process killed while writing");
            var state = DistillState.Load(Checkpoint, ConfigHash, force);
            if (force)
            {
                using var expected = fresh();
                if (!expected.Images.shape.SequenceEqual(state.Images.shape) || !expected.Labels.equal(state.Labels).all().item<bool>())
                {
                    var shape = string.Join(", ", state.Images.shape);
                    state.Dispose();
                    throw UserError.At(Checkpoint, $"holds a set of shape [{shape}] that these options do not make",
                        "--force can change how a run continues, not the set's size or classes: "
                            + "keep --ipc and --dataset, or start a new --out");
                }
                log("--force: continuing the checkpoint with the new options");
            }
            // The hash allows what does not shape the set to change on resume (the iteration count, the schedule,
            // with --force more): config.json records what this run now does.
            run.WriteJson(run.Config, config);
            log($"resuming from iteration {state.Iteration} ({Checkpoint})");
            // Lines written after the checkpoint belong to iterations that will run again.
            DropLinesAfter(Metrics, "iteration", state.Iteration - 1);
            DropLinesAfter(Evals, "iteration", state.Iteration);
            return state;
        }
        if (!resume && File.Exists(Checkpoint))
            throw UserError.At(run.Path, "already holds a distillation checkpoint",
                "pass --resume to continue it, or --out with a new directory");
        foreach (var file in new[] { Metrics, Evals }) if (File.Exists(file)) File.Delete(file);
        run.WriteJson(run.Config, config);
        return fresh();
    }

    private static void DropLinesAfter(string file, string key, int last)
    {
        if (!File.Exists(file)) return;
        var kept = File.ReadAllLines(file).Where(line => JsonDocument.Parse(line).RootElement.GetProperty(key).GetInt32() <= last);
        AtomicFile.WriteAllText(file, string.Concat(kept.Select(line => line + "\n")));
    }

    public void Iteration(IterationMetrics m, DistillState state)
    {
        File.AppendAllText(Metrics, JsonSerializer.Serialize(new
        {
            iteration = m.Iteration, loss = Finite(m.Loss), match_loss = Finite(m.MatchLoss), extra_loss = Finite(m.ExtraLoss),
            image_grad_norm = Finite(m.ImageGradNorm), lr = m.LearningRate, expert = m.Expert, start_epoch = m.StartEpoch,
            seconds = m.Seconds, rss_mb = Environment.WorkingSet / 1048576, skipped = m.Skipped, gated = m.Gated,
            mim = m.AddOn?.ToDictionary(kv => kv.Key, kv => Finite(kv.Value)),
        }) + "\n");
        int done = m.Iteration + 1;
        LiveProgress.Report("distillation", done, iterations);
        if (m.Skipped)
            log($"iter {done}/{iterations}: the loss or the gradient is NaN/Inf (loss {m.Loss:G4}); "
                + $"update skipped (a run stops after {ImageUpdate.MaxNonFiniteInARow} in a row)");
        iterationsTimed++;
        secondsTimed += m.Seconds;
        if (done % schedule.LogEvery == 0 || done == 1 || done == iterations)
        {
            log($"iter {done}/{iterations}  loss {m.Loss:F4} (match {m.MatchLoss:F4}, add-on {m.ExtraLoss:F4})  "
                + $"lr {m.LearningRate:G4}  {m.Seconds:F2} s/it  "
                + Eta.Text(iterationsTimed, iterationsTimed + iterations - done, TimeSpan.FromSeconds(secondsTimed)) + MimSummary(m.AddOn));
        }
        if (done % schedule.CheckpointEvery == 0 || done == iterations) state.Save(Checkpoint, ConfigHash);
        if (done == iterations) Finish(state);   // the set before its evaluation, so that nothing later can cost it
        if (IsEvaluationPoint(done)) Evaluate(state, done);
    }

    /// <summary>"  MIM bound 0.41 0.52 0.60 nats, retrieval 0.90 1.00 1.00" (per layer), or nothing without the term.</summary>
    private static string MimSummary(IReadOnlyDictionary<string, double>? readings)
    {
        if (readings is null || readings.Count == 0) return "";
        string Row(string prefix) => string.Join(" ", readings.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(kv => kv.Value.ToString("F2")));
        return $"  MIM bound {Row("mi_bound.")} nats, retrieval {Row("retrieval.")}";
    }

    /// <summary>Every --eval-every-th iteration and the last.</summary>
    private bool IsEvaluationPoint(int done) =>
        done == iterations || (done > 0 && schedule.EvalEvery > 0 && done % schedule.EvalEvery == 0);

    /// <summary>Evaluates the state's iteration if it is an evaluation point without one: a run stopped or killed during
    /// an evaluation resumes at that iteration's checkpoint.</summary>
    public void EvaluateIfMissing(DistillState state)
    {
        if (state.Iteration <= iterations && IsEvaluationPoint(state.Iteration) && !HasEvaluation(state.Iteration))
            Evaluate(state, state.Iteration);
    }

    /// <summary>JSON has no NaN/Inf: a non-finite value is written as null.</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    public bool HasEvaluation(int iteration) => File.Exists(Evals)
        && File.ReadLines(Evals).Any(line => JsonDocument.Parse(line).RootElement.GetProperty("iteration").GetInt32() == iteration);

    public EvalResult Evaluate(DistillState state, int iteration)
    {
        var protocol = new EvalProtocol
        {
            Repeats = schedule.EvalRepeats, Epochs = schedule.EvalEpochs, LearningRate = state.LearningRate.item<float>(),
            Augment = new Dsa(Dsa.StrategyFor(data.Name)),
        };
        using var images = state.Images.detach().clone();
        using var labels = state.TrainingLabels.detach().clone();
        long evalSeed = (long)Rng.Mix(seed, 3_000_000 + iteration);
        // A net's result depends on the set, the protocol and its seeds only: keyed so, a stopped evaluation resumes.
        var nets = new FinishedNets(run.EvalNets,
            $"distill it{iteration} {SetHash(images)}{LabelHash(labels)} {arch} e{protocol.Epochs} lr{protocol.LearningRate:R} "
            + $"s{evalSeed}");
        var finished = nets.Read(protocol.Repeats);
        log($"evaluating iteration {iteration}: {protocol.Repeats}× {arch}, {protocol.Epochs} epochs, lr {protocol.LearningRate:G4}, "
            + $"{Targets.Kind(labels)} labels"
            + (finished.Count > 0 ? $" ({finished.Count} net(s) already in {run.EvalNets})" : "") + " ...");
        // The final evaluation's first net is kept for the t-SNE, drawn only once the evaluation is recorded: optional output
        // must not stand between the nets and their record.
        (Net Net, NetWeights Weights)? first = null;
        var keepFirst = iteration == iterations
            ? (Net net, NetWeights weights) => first = (net, new NetWeights(
                weights.Parameters.Select(p => p.detach().clone()).ToList(), weights.Buffers.Select(b => b.detach().clone()).ToList()))
            : (Action<Net, NetWeights>?)null;
        var result = nets.Evaluate(protocol, finished, arch, images, labels, testImages, data.Test.Labels, data.Train.NumClasses,
            evalSeed,
            (r, net, loss, eta) =>
                log($"  net {r + 1}/{protocol.Repeats}: {100 * net.Accuracy:F2} % (final training loss {loss:F3})  {eta}"),
            () =>
            {
                state.Save(Checkpoint, ConfigHash);
                return $"during the evaluation of iteration {iteration}; its finished nets are kept in {run.EvalNets} "
                    + $"and checkpoint {Checkpoint} "
                    + "is saved — run the same command with --resume to continue";
            }, keepFirst, stop);
        Evaluations.Add((iteration, result));
        File.AppendAllText(Evals, JsonSerializer.Serialize(new { iteration, arch, labels = Targets.Kind(labels), mean = result.Mean,
            std = result.Std, accuracies = result.Accuracies, seconds = result.Seconds }) + "\n");
        log($"iteration {iteration}: {arch} {result}  ({result.Seconds / 60:F1} min)");
        if (first is var (net, weights))
            using (weights)
                Optional("the t-SNE map", "the report will show none", () => FeatureMap.Write(run.Path, net, weights, images,
                    state.Labels, data.Test, testImages, (long)Rng.Mix(seed, 4_000_000)));
        else if (iteration == iterations)
            log("no t-SNE map: the final evaluation's first net was trained by an earlier process (its weights are not kept)");
        return result;
    }

    /// <summary>Learned soft labels' bytes (hard labels follow from the run's options, so they add nothing).</summary>
    private static string LabelHash(Tensor labels) => Targets.AreSoft(labels) ? " y" + SetHash(labels) : "";

    /// <summary>The images' bytes (a run's labels follow from its options).</summary>
    private static string SetHash(Tensor images) =>
        Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(images.contiguous().data<float>().ToArray().AsSpan())))[..16];

    /// <summary>Writes report.html and report.md; a failure there is a warning, as the set and its evaluation are written.</summary>
    public void Report() =>
        Optional("the report", $"`mim4dd report {run.Path}` writes it again", () => log($"report: {RunReport.Write(run.Path)}"));

    /// <summary>Runs a part of the run's output that the set does not depend on; its failure is one warning line.</summary>
    private void Optional(string what, string consequence, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log($"warning: {what} could not be written ({e.GetType().Name}: {e.Message.Split('\n')[0]}); "
                + $"the synthetic set and its evaluation are kept, {consequence}");
        }
    }

    private int setWrittenAt = -1;

    /// <summary>The final synthetic set with its learned lr, for `mim4dd eval` (once per iteration count).</summary>
    public void Finish(DistillState state)
    {
        if (setWrittenAt == state.Iteration) return;
        setWrittenAt = state.Iteration;
        using var images = state.Images.detach().clone();
        using var soft = state.SoftLabels?.detach().clone();
        using var set = new SyntheticSet(images.alias(), state.Labels.alias(), data.Name, state.LearningRate.item<float>(), zcaDirectory,
            soft?.alias());
        set.Save(run.Synthetic, data.Normalization);
        log($"synthetic set: {run.Synthetic} (also .npz, .pt and grid.png)");
    }
}
