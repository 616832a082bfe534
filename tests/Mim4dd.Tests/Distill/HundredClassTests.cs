using System.Diagnostics;
using System.Text.Json;
using Mim4dd.Tests.Cli;
using Mim4dd.Tests.Data;

namespace Mim4dd.Tests.Distill;

/// <summary>
/// A generated CIFAR-100 in the python layout (`train`, `test`, `meta`; fine and coarse labels): 100 classes,
/// 10 training and 2 test images each, every class its own colour and stripe so that networks can tell them apart.
/// </summary>
public sealed class TinyCifar100 : IDisposable
{
    public const int Classes = 100, TrainPerClass = 10, TestPerClass = 2;
    private const int Row = 3 * 32 * 32;

    public TestData.TempDir Dir { get; } = new();
    public string DataDir => Dir.File("cifar-100-python");

    public TinyCifar100()
    {
        Directory.CreateDirectory(DataDir);
        var fine = Enumerable.Range(0, Classes).Select(c => $"class_{c:D2}").ToArray();
        var coarse = Enumerable.Range(0, Classes / 5).Select(c => $"superclass_{c:D2}").ToArray();
        File.WriteAllBytes(Path.Combine(DataDir, "train"), Batch(TrainPerClass, seed: 1));
        File.WriteAllBytes(Path.Combine(DataDir, "test"), Batch(TestPerClass, seed: 2));
        File.WriteAllBytes(Path.Combine(DataDir, "meta"), PickleWriter.CifarMeta("fine_label_names", fine, coarseNames: coarse));
    }

    /// <summary>Images interleaved by class (0, 1, …, 99, 0, 1, …), as the real batches are shuffled.</summary>
    private static byte[] Batch(int perClass, int seed)
    {
        var random = new Random(seed);
        int n = Classes * perClass;
        var data = new byte[n * Row];
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % Classes;
            labels[i] = c;
            for (int p = 0; p < Row; p++)
            {
                int channel = p / 1024, x = p % 32;
                int level = (c * (channel + 3) * 37 % 200) + (x % (2 + c % 7) == 0 ? 40 : 0);
                data[i * Row + p] = (byte)Math.Clamp(level + random.Next(-12, 13), 0, 255);
            }
        }
        return PickleWriter.CifarBatch(data, n, Row, labels, "fine_labels", coarseLabels: labels.Select(l => l / 5));
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>Every verb on 100 classes (the paper's headline dataset's shape): each run exits 0 and writes its set,
/// its evaluation and a report whose t-SNE says what it drew.</summary>
public class HundredClassTests(TinyCifar100 store) : IClassFixture<TinyCifar100>
{
    private string[] Distill(string method, string outDir, params string[] extra) => CliTests.Distill(method,
        ["--dataset", "cifar100", "--data-dir", store.DataDir, "--arch", TinyMnist.Arch, "--ipc", "1", "--batch-real", "4",
         "--syn-steps", "2", "--iterations", "1", "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "1",
         "--out", outDir], extra);

    private static void AssertFinished(string run, string stdout, string stderr, int code)
    {
        Assert.True(code == 0, $"{run}: exit {code}: {stderr}");
        Assert.True(File.Exists(Path.Combine(run, "syn.safetensors")), $"{run}: no set. {stdout}");
        var eval = JsonDocument.Parse(File.ReadLines(Path.Combine(run, "evals.jsonl")).Last()).RootElement;
        Assert.InRange(eval.GetProperty("mean").GetDouble(), 0, 1);
        using var set = Mim4dd.IO.SyntheticSet.Load(Path.Combine(run, "syn.safetensors"));
        Assert.Equal(Enumerable.Range(0, TinyCifar100.Classes).Select(c => (long)c), set.Labels.data<long>().ToArray().Order());
    }

    [Theory]
    [InlineData("dm")]
    [InlineData("dc")]
    [InlineData("dsa")]
    [InlineData("bptt")]
    [InlineData("dm", "--mim", "--lambda", "0.1", "--mim-warmup", "0")]
    public void ExpertFreeMethods_FinishWithSetEvaluationAndReport(string method, params string[] extra)
    {
        var run = store.Dir.File($"{method}{string.Join("", extra)}");
        var (code, stdout, stderr) = CliTests.Run(Distill(method, run, extra));
        AssertFinished(run, stdout, stderr, code);
        var report = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.True(report.Contains("Drawn: all 100 synthetic images and 2 random real test images per class"), stdout);
        Assert.Contains("100 classes round the hue circle", report);
    }

    [Fact]
    public async Task HeadlineScript_TrainsExpertsDistilsMttAndMim4dd_AndComparesThem()
    {
        // scripts/cifar100-headline.sh at a test budget: 1 expert × 2 epochs of ConvNetW32, 1 iteration at IPC 1, 2 nets × 1 epoch.
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var cli = Path.Combine(AppContext.BaseDirectory, "Mim4dd.Cli");   // the CLI's apphost, built beside the tests
        var runs = store.Dir.File("headline");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(root, "scripts", "cifar100-headline.sh"), store.DataDir, runs }) info.ArgumentList.Add(a);
        foreach (var (k, v) in new[] { ("MIM4DD", cli), ("ARCH", TinyMnist.Arch), ("EXPERTS", "1"), ("EPOCHS", "2"), ("ITERATIONS", "1"),
            ("MAX_START", "1"), ("NETS", "2"), ("EVAL_EPOCHS", "1"), ("DISTILL_FLAGS", "--ipc 1 --syn-steps 2"),
            ("MIM_FLAGS", "--batch-real 4 --mim-warmup 0") })
            info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var reading = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var stdout = await reading;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stderr}\n{stdout}");
        AssertFinished(Path.Combine(runs, "mtt-ipc10"), stdout, stderr, 0);
        AssertFinished(Path.Combine(runs, "mim4dd-ipc10"), stdout, stderr, 0);
        var compare = File.ReadAllText(Path.Combine(runs, "compare.md"));
        Assert.Contains("mtt-ipc10", compare);
        Assert.Contains("mim4dd-ipc10", compare);
        Assert.Contains("All nets, paired by evaluation seed", stdout);   // `paired` over the 2 nets
        var check = JsonDocument.Parse(File.ReadLines(Path.Combine(runs, "mim4dd-ipc10", "metrics.jsonl")).Last()).RootElement
            .GetProperty("mim");
        Assert.Equal(0.25, check.GetProperty("grad_mim").GetDouble()
            / check.GetProperty("grad_dd").GetDouble(), 6);   // balanced by default
    }

    [Fact]
    public async Task HeadlineScript_OnSlurm_SubmitsTheExpertsAsAJobArray()
    {
        // SLURM_TASKS hands the experts to `mim4dd slurm experts`; --dry-run writes the batch script without a cluster.
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var logs = store.Dir.File("headline-slurm-logs");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(root, "scripts", "cifar100-headline.sh"), store.DataDir, store.Dir.File("headline-slurm"),
            "experts" })
            info.ArgumentList.Add(a);
        foreach (var (k, v) in new[] { ("MIM4DD", Path.Combine(AppContext.BaseDirectory, "Mim4dd.Cli")), ("SLURM_TASKS", "3"),
            ("SLURM_ARGS", $"--dry-run --logs {logs}"), ("EXPERTS", "6") })
            info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var reading = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stderr}\n{await reading}");
        var script = File.ReadAllText(Directory.GetFiles(logs, "*.sbatch").Single());
        Assert.Contains("--array=0-2", script);
        Assert.Contains("--dataset cifar100", script);
        Assert.Contains("--num-experts 6", script);
        Assert.Contains("experts submitted as a job array", stderr);
    }

    [Fact]
    public void Coresets_AndEvalOfASavedSet()
    {
        foreach (var method in new[] { "random", "herding" })
        {
            var (code, _, stderr) = CliTests.Run("coreset", "--method", method, "--dataset", "cifar100", "--data-dir", store.DataDir,
                "--ipc", "1", "--repeats", "1", "--epochs", "1", "--out", store.Dir.File(method));
            Assert.True(code == 0, stderr);
        }
        var (evalCode, stdout, evalErr) = CliTests.Run("eval", store.Dir.File("herding"), "--data-dir", store.DataDir, "--repeats", "1",
            "--epochs", "1");
        Assert.True(evalCode == 0, evalErr);
        Assert.Contains("ConvNet", stdout);
    }

    [Fact]
    public void AReportOrTsneThatCannotBeWritten_IsAWarning_KeepsTheSetAndItsEvaluation_AndReportRedoesIt()
    {
        var run = store.Dir.File("report-fails");
        // The final renames cannot replace a folder: the t-SNE map and the report both fail.
        Directory.CreateDirectory(Path.Combine(run, "report.html"));
        Directory.CreateDirectory(Path.Combine(run, "tsne.json"));
        var (code, stdout, stderr) = CliTests.Run(Distill("dm", run));
        AssertFinished(run, stdout, stderr, code);
        Assert.Contains("warning: the t-SNE map could not be written", stderr);   // stderr: seen with --quiet too
        Assert.Contains("warning: the report could not be written", stderr);
        Assert.True(File.Exists(Path.Combine(run, "syn.pt")));
        Assert.Single(File.ReadAllLines(Path.Combine(run, "eval-nets.jsonl")));   // the net the t-SNE would have used is recorded
        Directory.Delete(Path.Combine(run, "report.html"));
        (code, _, stderr) = CliTests.Run("report", run);
        Assert.True(code == 0, stderr);
        Assert.Contains("t-SNE", File.ReadAllText(Path.Combine(run, "report.html")));
    }

    [Fact]
    public void WithoutDataDir_SaysWhereToGetCifar100()
    {
        var (code, _, stderr) = CliTests.Run("distill", "--method", "dm", "--dataset", "cifar100", "--iterations", "1",
            "--out", store.Dir.File("no-data"));
        Assert.Equal(2, code);
        Assert.Contains("cifar-100-python.tar.gz", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void TheFolderTarUnpackedInto_SaysToPassTheInnerOne()
    {
        var parent = store.Dir.File("unpacked-here");
        Directory.CreateDirectory(Path.Combine(parent, "cifar-100-python"));
        var (code, _, stderr) = CliTests.Run("data", "info", "cifar100", "--data-dir", parent);
        Assert.Equal(2, code);
        Assert.Contains($"pass --data-dir {Path.Combine(parent, "cifar-100-python")}", stderr);
    }
}
