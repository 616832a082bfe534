using System.Text.Json;
using Mim4dd.Tests.Cli;
using Mim4dd.Tests.Distill;
using Mim4dd.Bench;

namespace Mim4dd.Tests.Bench;

/// <summary>The benchmarks run end to end at toy sizes and write the JSON they promise (their figures are not checked here).</summary>
public class BenchTests
{
    [Fact]
    public void UnrollPeakPrediction_ExtrapolatesLinearlyFromTheMeasuredRows()
    {
        static UnrollBench.Row Row(int steps, double peak) => new("naive", steps, 1, 1, peak, 0, 1, 1);
        Assert.Equal(0, UnrollBench.PredictPeakMb([], 80));
        Assert.Equal(28_000, UnrollBench.PredictPeakMb([Row(10, 7_000)], 40));
        // 7 GB at N = 10 and 13 GB at N = 20: 0.6 GB per step, so 25 GB at N = 40.
        Assert.Equal(25_000, UnrollBench.PredictPeakMb([Row(10, 7_000), Row(20, 13_000)], 40), 6);
        // A flat (reverse) path stays flat.
        Assert.Equal(880, UnrollBench.PredictPeakMb([Row(10, 900), Row(20, 880)], 80));
    }

    [Fact]
    public void Unroll_MeasuresEveryPathAndStepCount_InChildProcesses()
    {
        using var dir = new TestData.TempDir();
        var (code, stdout, stderr) = CliTests.Run("bench", "unroll", "--steps", "1,2", "--shape", "mnist", "--ipc", "1", "--repeats", "1",
            "--threads", "1", "--arch", TinyMnist.Arch, "--output", dir.File("unroll.json"));
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("unroll.json")));
        var rows = json.RootElement.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);
        Assert.Equal(new[] { "naive:1", "naive:2", "reverse:1", "reverse:2", "first-order:1", "first-order:2" },
            rows.Select(r => $"{r.GetProperty("Path").GetString()}:{r.GetProperty("Steps").GetInt32()}"));
        // Each child reports its own peak, at least what it held when it started.
        Assert.All(rows, r => Assert.True(r.GetProperty("PeakRssMb").GetDouble() > 50 && r.GetProperty("SecondsMedian").GetDouble() > 0));
        Assert.Contains("reverse: peak RSS", stdout);
        Assert.Equal(TinyMnist.Arch, json.RootElement.GetProperty("Settings").GetProperty("arch").GetString());
    }

    [Fact]
    public void Distill_TimesEveryMethod_AndMimOverMtt_OnEachShape()
    {
        using var dir = new TestData.TempDir();
        JsonElement Bench(string file, params string[] flags)
        {
            var (code, stdout, stderr) = CliTests.Run(["bench", "distill", .. flags, "--syn-steps", "1", "--iterations", "1", "--ipc", "1",
                "--threads", "1", "--arch", TinyMnist.Arch, "--output", dir.File(file)]);
            Assert.True(code == 0, stderr);
            Assert.Contains("s/iteration", stdout);
            return JsonDocument.Parse(File.ReadAllText(dir.File(file))).RootElement;
        }
        var mnist = Bench("mnist.json", "--method", "mtt,mim4dd,dm,bptt", "--shape", "mnist");
        var rows = mnist.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal(new[] { "mtt", "mim4dd", "dm", "bptt" }, rows.Select(r => r.GetProperty("Method").GetString()));
        Assert.All(rows, r => Assert.True(r.GetProperty("SecondsMedian").GetDouble() > 0 && r.GetProperty("RssMaxMb").GetInt64() > 0
            && r.GetProperty("Ipc").GetInt32() == 1));
        Assert.Equal(JsonValueKind.Null, rows[2].GetProperty("GigaFlops").ValueKind);     // DM: no analytic unroll FLOPs
        Assert.Equal(JsonValueKind.Number, rows[3].GetProperty("GigaFlops").ValueKind);   // BPTT: the unroll's
        Assert.True(mnist.GetProperty("Settings").GetProperty("mim_over_mtt").GetProperty("mnist").GetDouble() > 1);
        Assert.Equal(TinyMnist.Arch, mnist.GetProperty("Settings").GetProperty("arch").GetString());
        // CIFAR-100's shape: 100 classes, so IPC 1 is 100 images and MIM's real batch is 100 × 32.
        // With --batch-syn each student step takes 50 of the 100 images (the CIFAR-100 IPC 50 preset's minibatching).
        var hundred = Bench("cifar100.json", "--method", "mtt,mim4dd", "--shape", "cifar100", "--batch-syn", "50");
        Assert.Equal("50", hundred.GetProperty("Settings").GetProperty("batch_syn").GetString());
        Assert.Equal("all", mnist.GetProperty("Settings").GetProperty("batch_syn").GetString());
        Assert.Equal(["cifar100", "cifar100"],
            hundred.GetProperty("Rows").EnumerateArray().Select(r => r.GetProperty("Shape").GetString()));
        Assert.True(hundred.GetProperty("Settings").GetProperty("mim_over_mtt").GetProperty("cifar100").GetDouble() > 1);
        var (exit, _, error) = CliTests.Run("bench", "distill", "--shape", "imagenet");
        Assert.Equal(2, exit);
        Assert.Contains("--shape imagenet: unknown shape", error);
    }

    [Fact]
    public void Eval_TimesTheProtocolPerIpc()
    {
        using var dir = new TestData.TempDir();
        var (code, _, stderr) = CliTests.Run("bench", "eval", "--ipc", "1,2", "--repeats", "2", "--epochs", "1", "--test-images", "20",
            "--threads", "1", "--output", dir.File("eval.json"));
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("eval.json")));
        var rows = json.RootElement.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal(new[] { 1, 2 }, rows.Select(r => r.GetProperty("Ipc").GetInt32()));
        Assert.All(rows, r => Assert.True(r.GetProperty("Seconds").GetDouble() > 0 && r.GetProperty("AchievedGflops").GetDouble() > 0));
        // Twice the images per class, twice the training FLOPs (the test pass is the same).
        double a = rows[0].GetProperty("TrainGigaFlops").GetDouble(), b = rows[1].GetProperty("TrainGigaFlops").GetDouble();
        Assert.True(b > a);
    }

    [Fact]
    public void Roofline_MeasuresFp32_AndBf16OnlyWhereTheCpuHasIt_AndCompareGivesRatios()
    {
        using var dir = new TestData.TempDir();
        foreach (var name in new[] { "a.json", "b.json" })
        {
            var (code, _, stderr) = CliTests.Run("bench", "roofline", "--size", "64", "--repeats", "2", "--threads", "1",
                "--output", dir.File(name));
            Assert.True(code == 0, stderr);
        }
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("a.json")));
        var rows = json.RootElement.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal(new[] { "fp32", "bf16" }, rows.Select(r => r.GetProperty("Precision").GetString()));
        Assert.True(rows[0].GetProperty("Gflops").GetDouble() > 0);
        bool hasBf16 = Mim4dd.Runtime.MachineInfo.Current().HasBf16;
        Assert.Equal(hasBf16, rows[1].GetProperty("Skipped").ValueKind == JsonValueKind.Null);

        var (compareCode, stdout, compareErr) = CliTests.Run("bench", "compare", dir.File("a.json"), dir.File("b.json"));
        Assert.True(compareCode == 0, compareErr);
        Assert.Contains("| Precision=fp32 Size=64 | Gflops |", stdout);
        var (badCode, _, badErr) = CliTests.Run("bench", "compare", dir.File("a.json"), dir.File("missing.json"));
        Assert.Equal(2, badCode);
        Assert.Contains("missing.json", badErr);
    }

    [Fact]
    public void Compare_MatchesDistillRowsWhoseMeasuredMemoryDiffers()
    {
        using var dir = new TestData.TempDir();
        static string File(double seconds, long rss) => $$"""
            {"Benchmark":"distill","Rows":[{"Shape":"mnist","Method":"mtt","Ipc":10,"SynSteps":10,"Iterations":2,
            "SecondsMin":{{seconds}},"SecondsMedian":{{seconds}},"RssMaxMb":{{rss}}}]}
            """;
        System.IO.File.WriteAllText(dir.File("a.json"), File(12.5, 1836));
        System.IO.File.WriteAllText(dir.File("b.json"), File(10.25, 1950));
        var (code, stdout, stderr) = CliTests.Run("bench", "compare", dir.File("a.json"), dir.File("b.json"));
        Assert.True(code == 0, stderr);
        Assert.Contains("| SecondsMedian | 12.5 | 10.25 | 0.82 |", stdout);
    }

    [Theory]
    [InlineData("--steps", "bench", "unroll", "--steps", "10,x")]
    [InlineData("--shape", "bench", "unroll", "--shape", "imagenet", "--steps", "1")]
    [InlineData("unknown method", "bench", "distill", "--method", "kip")]
    [InlineData("unknown name", "bench", "distill", "--arch", "NoNet")]
    [InlineData("--batch-syn: must be at least 1", "bench", "distill", "--batch-syn", "0")]
    [InlineData("unknown name", "bench", "unroll", "--arch", "NoNet", "--steps", "1")]
    public void BadOptions_ExitTwo(string expected, params string[] args)
    {
        var (code, _, stderr) = CliTests.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
