using System.Text;
using System.Text.Json;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Experts;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Runs;

/// <summary>
/// The README's first command: fetch MNIST, train a few short experts, distil one image per class with MIM4DD,
/// evaluate it next to a random coreset of the same size, write a report that shows both. One image per class is
/// where distillation shows most plainly: a short run lifts a random set's accuracy by tens of points.
/// Every stage is resumable: running it again continues where a killed run stopped.
/// </summary>
public static class Quickstart
{
    private const string DistilledRun = "mim4dd-ipc1", RandomRun = "random-ipc1";
    private const int Ipc = 1;
    private static readonly MimOptions Mim = new();

    /// <summary>The quick budget (docs/results.md records what it gives); only the evaluation networks are a flag.</summary>
    public sealed record Budget
    {
        public int ExpertImagesPerClass { get; init; } = 1000;
        public int Experts { get; init; } = 2;
        public int ExpertEpochs { get; init; } = 4;
        public int Iterations { get; init; } = 40;
        public int EvalEpochs { get; init; } = 300;
    }

    /// <summary>Runs (or resumes) the three stages in <paramref name="root"/> and returns the report, written there as
    /// report.md.</summary>
    public static string Run(string cache, string root, int repeats, long seed, Action<string> log, CancellationToken stop)
    {
        var budget = new Budget();
        var machine = MachineInfo.Current();
        log($"machine: {machine}");
        DatasetCatalog.Find("mnist").Get!(cache, log);
        using var data = DatasetCatalog.Load("mnist", cache, null);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var store = Path.Combine(root, "experts");
        log($"stage 1/3: {budget.Experts} experts × {budget.ExpertEpochs} epochs on {budget.ExpertImagesPerClass} real images per class");
        TrainExperts(data, budget, store, seed, log, stop);
        double expertMinutes = clock.Elapsed.TotalMinutes;

        log($"stage 2/3: MIM4DD, {budget.Iterations} iterations");
        var distilled = Distil(data, budget, store, Path.Combine(root, DistilledRun), repeats, seed, log, stop);
        double distilMinutes = clock.Elapsed.TotalMinutes - expertMinutes;

        log("stage 3/3: random coreset of the same size, same evaluation");
        var randomRun = new RunDirectory(Path.Combine(root, RandomRun));
        var randomConfig = new CoresetRun.Config("random", "mnist", Ipc, "ConvNet", repeats, budget.EvalEpochs, "dsa", seed, "ConvNet", 1,
            machine.Version, machine.ToString());
        var random = CoresetRun.Run(data, randomConfig, randomRun, cache, line => { log(line); randomRun.AppendLog(line); }, stop);

        var report = Report(budget, distilled, random, expertMinutes, distilMinutes, machine, seed);
        AtomicFile.WriteAllText(Path.Combine(root, RunDirectory.ReportName), report);
        return report;
    }

    /// <summary>Experts see a class-balanced slice of the training set: the quick budget, not the paper's 60,000 images.</summary>
    private static void TrainExperts(DataSplit data, Budget budget, string store, long seed, Action<string> log, CancellationToken stop)
    {
        using var indices = CoresetSelection.Random(data.Train, budget.ExpertImagesPerClass, Rng.Torch(seed, 20));
        using var slice = new DataSplit(data.Name,
            new Dataset(data.Train.ImagesU8.index_select(0, indices), data.Train.Labels.index_select(0, indices), data.Train.ClassNames),
            new Dataset(data.Test.ImagesU8.alias(), data.Test.Labels.alias(), data.Test.ClassNames), data.Normalization);
        var options = new ExpertOptions { NumExperts = budget.Experts, Epochs = budget.ExpertEpochs, Seed = seed };
        ExpertStore.RunAll(slice, DistillMethods.DefaultArch, options, store, Shard.All, log, stop);
    }

    private static (double Mean, double Std, double Lr) Distil(DataSplit data, Budget budget, string store, string directory, int repeats,
        long seed, Action<string> log, CancellationToken stop)
    {
        var run = new RunDirectory(directory);
        var preset = MttPresets.Find("mnist-ipc1").Options;
        var options = preset with { Iterations = budget.Iterations, MaxStartEpoch = budget.ExpertEpochs - preset.ExpertEpochs + 1,
            Seed = seed };
        var schedule = new RunSchedule(CheckpointEvery: 10, EvalEvery: 0, EvalRepeats: repeats, EvalEpochs: budget.EvalEpochs);
        void RunLog(string line)
        {
            log(line);
            run.AppendLog(line);
        }
        var settings = new MttDistillationSettings("mim4dd", options, Mim, MimOptions.RealPerClass, store);
        using (var method = new MttMethod(data, settings, RunLog, MachineInfo.Current()))
            DistillSession.Run(data, method, run, schedule, resume: File.Exists(run.Checkpoint), RunLog, stop);
        // The final evaluation is the last line of evals.jsonl (also when an earlier quickstart finished it).
        var last = JsonDocument.Parse(File.ReadAllLines(run.Evals).Last()).RootElement;
        using var set = SyntheticSet.Load(run.Synthetic);
        return (last.GetProperty("mean").GetDouble(), last.GetProperty("std").GetDouble(), set.LearningRate);
    }

    private static string LambdaRule => Mim.Balance > 0 ? $"λ balanced so that |λ·g_MIM| = {Mim.Balance}·|g_MTT|" : $"λ {Mim.Lambda}";

    private static string Report(Budget budget, (double Mean, double Std, double Lr) distilled, CoresetRun.Result random,
        double expertMinutes, double distilMinutes, MachineInfo machine, long seed)
    {
        var text = new StringBuilder();
        text.AppendLine($"# mim4dd quickstart: MNIST, {Ipc} image per class");
        text.AppendLine();
        text.AppendLine($"Distilled minus random: **{100 * (distilled.Mean - random.Mean):+0.00;-0.00} points** of test accuracy, "
            + $"with the same {Ipc * 10} images' worth of data.");
        text.AppendLine();
        text.AppendLine("| set | images | test accuracy % (mean ± std) | eval lr | minutes |");
        text.AppendLine("|---|---|---|---|---|");
        text.AppendLine($"| MIM4DD (distilled) | {Ipc * 10} | {100 * distilled.Mean:F2} ± {100 * distilled.Std:F2} | "
            + $"{distilled.Lr:G3} (learned) | {expertMinutes + distilMinutes:F1} |");
        text.AppendLine($"| random real images | {Ipc * 10} | {100 * random.Mean:F2} ± {100 * random.Std:F2} | "
            + $"0.01 | {random.TotalSeconds / 60:F1} |");
        text.AppendLine();
        text.AppendLine("| distilled (started from real images) | random real images |");
        text.AppendLine("|---|---|");
        text.AppendLine($"| ![distilled]({DistilledRun}/{SyntheticSet.GridFileName}) | "
            + $"![random]({RandomRun}/{SyntheticSet.GridFileName}) |");
        text.AppendLine();
        text.AppendLine($"Seed {seed}. Machine: {machine}.");
        text.AppendLine($"Quick budget: {budget.Experts} experts × {budget.ExpertEpochs} epochs "
            + $"on {budget.ExpertImagesPerClass} images per class ({expertMinutes:F1} min); "
            + $"MIM4DD (MTT + λ·MIM, {LambdaRule}, τ {Mim.Temperature}, "
            + $"{Mim.Critic.ToString().ToLowerInvariant()} critic on {Mim.Features.ToString().ToLowerInvariant()} features) "
            + $"{budget.Iterations} iterations of the `mnist-ipc1` preset ({distilMinutes:F1} min). "
            + $"Evaluation: {random.Config.Repeats} ConvNet-3 trainings per row, "
            + $"{budget.EvalEpochs} epochs with DSA (the papers: 1000 epochs, 5+ networks). "
            + "Paper-scale numbers need the paper's budget (docs/results.md).");
        text.AppendLine();
        text.AppendLine($"The distillation's own report (loss, lr and MIM curves, the synthetic images, its config): "
            + $"`{DistilledRun}/report.html`.");
        return text.ToString();
    }
}
