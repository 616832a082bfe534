using System.Globalization;
using System.Diagnostics;
using System.Text.Json;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Tests.Cli;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

/// <summary>A tiny real-MNIST slice (600 train / 200 test images as IDX) and, on first use, 2 experts × 3 epochs on it.</summary>
public sealed class TinyMnist : IDisposable
{
    public TestData.TempDir Dir { get; } = new();

    public string DataDir => Dir.File("data");

    /// <summary>Trained on first use, once per test process: every fixture's slice is the same and every test only reads
    /// the store, so the ten test classes on this fixture need not each train their own. Expert-free classes never pay.</summary>
    public string Experts => SharedExperts.Value;

    /// <summary>The store's network, which MTT and MIM4DD runs on it distil on and evaluate with.</summary>
    public const string Arch = "ConvNetW32";

    private static readonly Lazy<string> SharedExperts = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("mim4dd-test-experts-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(root, recursive: true);
        var data = Path.Combine(root, "data");
        TestData.WriteMnistSlice(data, 600, 200);
        var directory = Path.Combine(root, "experts");
        // ConvNet at width 32: what these tests prove does not depend on the width, and every distillation and
        // evaluation on the store then costs a fraction of ConvNet-128's.
        var (code, _, stderr) = CliTests.Run("experts", "--dataset", "mnist", "--data-dir", data, "--num-experts", "2",
            "--train-epochs", "3", "--batch-train", "64", "--arch", Arch, "--out", directory);
        return code == 0 ? directory : throw new InvalidOperationException($"experts failed: {stderr}");
    });

    public TinyMnist() => TestData.WriteMnistSlice(DataDir, 600, 200);

    /// <summary>A tiny DM run at IPC 1 (no experts needed): <paramref name="iterations"/> iterations, evaluated every
    /// <paramref name="evalEvery"/> (0: at the end) with <paramref name="evalRepeats"/> nets × 2 epochs.</summary>
    public (int Code, string Stdout, string Stderr) DistillDm(string outDir, int iterations, int evalEvery, int evalRepeats = 1) =>
        CliTests.Run("distill", "dm", "--dataset", "mnist", "--data-dir", DataDir, "--ipc", "1", "--batch-real", "8",
            "--iterations", $"{iterations}", "--eval-every", $"{evalEvery}", "--eval-repeats", $"{evalRepeats}", "--eval-epochs", "2",
            "--out", outDir);

    /// <summary>Runs `distill` on the tiny store with small settings plus <paramref name="extra"/> flags.</summary>
    public (int Code, string Stdout, string Stderr) Distill(string outDir, params string[] extra) =>
        CliTests.Run(DistillArguments(outDir, extra));

    /// <summary>`distill METHOD` (METHOD from `--method` in <paramref name="extra"/>, else mim4dd) with the small
    /// defaults that method reads, as the registry says, and <paramref name="extra"/>.</summary>
    public string[] DistillArguments(string outDir, params string[] extra)
    {
        int at = Array.IndexOf(extra, "--method");
        var method = DistillMethods.Get(at >= 0 ? extra[at + 1] : "mim4dd");
        string[] defaults =
        [
            "--dataset", "mnist", "--data-dir", DataDir, "--experts", Experts, "--arch", Arch, "--ipc", "2", "--syn-steps", "4",
            "--max-start-epoch", "1", "--lr-img", "100", "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "3",
            "--checkpoint-every", "1", "--batch-real", "4", "--out", outDir,
        ];
        var rest = at >= 0 ? extra.Take(at).Concat(extra.Skip(at + 2)).ToArray() : extra;
        var notOverridden = defaults.Chunk(2).Where(pair => !rest.Contains(pair[0])).SelectMany(pair => pair).ToArray();
        return CliTests.Distill(method.Name, notOverridden, rest);
    }

    public void Dispose() => Dir.Dispose();
}

public class DistillRunTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private static byte[] SyntheticBytes(string run) => File.ReadAllBytes(Path.Combine(run, "syn.safetensors"));

    private static double[] Losses(string run, string key) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty(key).GetDouble()).ToArray();

    [Fact]
    public void ZeroIterations_EvaluatesTheStartingSet_AndReportsIt()
    {
        // The random-real baseline under a run's own protocol (ZCA, DSA, epochs): the seed's initial set, evaluated.
        var run = store.Dir.File("mtt-0");
        var (code, _, stderr) = store.Distill(run, "--method", "mtt", "--iterations", "0");
        Assert.True(code == 0, stderr);
        var evals = File.ReadAllLines(Path.Combine(run, "evals.jsonl"));
        Assert.Equal(0, JsonDocument.Parse(Assert.Single(evals)).RootElement.GetProperty("iteration").GetInt32());
        Assert.Contains("0 iterations", File.ReadAllText(Path.Combine(run, "report.html")));
        using var set = Mim4dd.IO.SyntheticSet.Load(Path.Combine(run, "syn.safetensors"));
        Assert.Equal(0.01, set.LearningRate, 6);
    }

    [Fact]
    public void MimWarmup_LeavesTheImagesToMtt_WhileTheHeadsLearn()
    {
        var mtt = store.Dir.File("mtt-w");
        var warm = store.Dir.File("mim-warm3");
        var partly = store.Dir.File("mim-warm1");
        Assert.Equal(0, store.Distill(mtt, "--method", "mtt", "--iterations", "3").Code);
        var (code, _, stderr) = store.Distill(warm, "--method", "mim4dd", "--mim-warmup", "3", "--iterations", "3");
        Assert.True(code == 0, stderr);
        Assert.Equal(0, store.Distill(partly, "--method", "mim4dd", "--mim-warmup", "1", "--iterations", "3").Code);
        var byDefault = store.Dir.File("mim-warm-default");
        Assert.Equal(0, store.Distill(byDefault, "--method", "mim4dd", "--iterations", "3").Code);
        Assert.Equal(SyntheticBytes(mtt), SyntheticBytes(warm));
        Assert.Equal(SyntheticBytes(mtt), SyntheticBytes(byDefault));   // the default warm-up covers a 3-iteration run
        Assert.All(Losses(warm, "extra_loss"), v => Assert.True(v > 0));   // the term runs (and its heads step) during the warm-up
        Assert.NotEqual(Losses(warm, "extra_loss")[0], Losses(warm, "extra_loss")[2]);
        Assert.NotEqual(SyntheticBytes(mtt), SyntheticBytes(partly));
    }

    [Fact]
    public void LambdaZero_EqualsMttBitwise()
    {
        var mtt = store.Dir.File("mtt");
        var mim = store.Dir.File("mim0");
        Assert.Equal(0, store.Distill(mtt, "--method", "mtt", "--iterations", "3").Code);
        Assert.Equal(0, store.Distill(mim, "--method", "mim4dd", "--lambda", "0", "--iterations", "3").Code);
        Assert.Equal(SyntheticBytes(mtt), SyntheticBytes(mim));
    }

    [Theory]
    [InlineData("mim4dd")]
    [InlineData("dm", "--mim")]
    [InlineData("bptt", "--mim")]
    [InlineData("dc", "--mim")]
    public void MimBalance_SetsLambdaBeforeTheTermsFirstImageStep_AsThatFixedLambdaWouldStep(string method, params string[] mim)
    {
        // Warm-up 1: iteration 1 is the term's first image step and the first gradient check, where λ is balanced.
        // MTT and BPTT split by a second unroll, DM and DC (one outer step per iteration at IPC 1) by two backward passes.
        string[] common = ["--method", method, .. mim, "--ipc", "1", "--mim-warmup", "1", "--iterations", "2"];
        var balanced = store.Dir.File($"{method}-balanced");
        var (code, _, stderr) = store.Distill(balanced, [.. common, "--mim-balance", "0.5", "--mim-grad-every", "2"]);
        Assert.True(code == 0, stderr);
        var check = JsonDocument.Parse(File.ReadAllLines(Path.Combine(balanced, "metrics.jsonl"))[1]).RootElement.GetProperty("mim");
        double lambda = check.GetProperty("lambda").GetDouble(), dd = check.GetProperty("grad_dd").GetDouble();
        Assert.NotEqual(0.1, lambda);
        Assert.Equal(0.5, check.GetProperty("grad_mim").GetDouble() / dd, 9);
        // Before the check the start λ 0.1 gave the term grad_ratio of matching's; λ was scaled by 0.5 / grad_ratio.
        Assert.Equal(0.1 * 0.5 / check.GetProperty("grad_ratio").GetDouble(), lambda, 9);
        // The report draws the term's diagnostics: bound and retrieval per layer, the gradient norms, cosine and λ.
        var html = File.ReadAllText(Path.Combine(balanced, "report.html"));
        var mimSection = html[html.IndexOf("<h2>MIM estimator</h2>", StringComparison.Ordinal)
            ..html.IndexOf("<h2>Synthetic images</h2>", StringComparison.Ordinal)];
        foreach (var title in new[] { "MI lower bound per layer (nats)", "‖g_DD‖", "‖λ·g_MIM‖",
            "gradient ratio", "cosine(g_DD, g_MIM) at the checks", ">λ<" })
            Assert.Contains(title, mimSection);
        // 3 bounds, ‖g_DD‖ and ‖λ·g_MIM‖, their ratio, cosine, λ (retrieval lines too, unless a layer retrieved nothing).
        Assert.True(mimSection.Split("<polyline").Length - 1 >= 3 + 2 + 1 + 1 + 1, mimSection);
        Assert.Contains(">block0</text>", mimSection);
        Assert.Contains("lower bound on I(S;T) block0 ", File.ReadAllText(Path.Combine(balanced, "report.md")));
        // Gradients are linear in λ, so the rescaled step is the step a run with that λ fixed takes (to float rounding).
        var fixedLambda = store.Dir.File($"{method}-fixed");
        Assert.Equal(0, store.Distill(fixedLambda, [.. common, "--lambda", lambda.ToString("R", CultureInfo.InvariantCulture),
            "--mim-grad-every", "0", "--mim-balance", "0"]).Code);
        var mtt = store.Dir.File($"{method}-plain");
        Assert.Equal(0, store.Distill(mtt, "--method", method == "mim4dd" ? "mtt" : method, "--ipc", "1", "--iterations", "2").Code);
        using var a = Mim4dd.IO.SyntheticSet.Load(Path.Combine(balanced, "syn.safetensors"));
        using var b = Mim4dd.IO.SyntheticSet.Load(Path.Combine(fixedLambda, "syn.safetensors"));
        using var m = Mim4dd.IO.SyntheticSet.Load(Path.Combine(mtt, "syn.safetensors"));
        double termStep = (a.Images - m.Images).norm().item<float>(), apart = (a.Images - b.Images).norm().item<float>();
        Assert.True(termStep > 0 && apart <= 1e-3 * termStep, $"balanced vs fixed λ {apart:G3}, the term moved the images {termStep:G3}");
    }

    [Fact]
    public void Mtt_DistilsAndEvaluatesOnTheExpertsNetwork_AndRefusesAnotherArch()
    {
        var run = store.Dir.File("store-arch");
        var args = store.DistillArguments(run, "--method", "mtt", "--iterations", "1").ToList();
        args.RemoveRange(args.IndexOf("--arch"), 2);
        var (code, _, stderr) = CliTests.Run([.. args]);
        Assert.True(code == 0, stderr);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json")));
        Assert.Equal(TinyMnist.Arch, config.RootElement.GetProperty("distill").GetProperty("arch").GetString());
        Assert.Contains($"\"arch\":\"{TinyMnist.Arch}\"", File.ReadAllText(Path.Combine(run, "evals.jsonl")));
        (code, _, stderr) = store.Distill(store.Dir.File("other-arch"), "--method", "mtt", "--iterations", "1", "--arch", "ConvNet");
        Assert.Equal(2, code);
        Assert.Contains("--arch is left out", stderr);
    }

    [Fact]
    public void Mtt_WithoutExperts_SaysHowToTrainTheStoreItNeeds()
    {
        var empty = store.Dir.File("no-experts");
        Directory.CreateDirectory(empty);
        var args = store.DistillArguments(store.Dir.File("no-experts-run"), "--method", "mtt", "--iterations", "1").ToList();
        args[args.IndexOf("--experts") + 1] = empty;
        var (code, _, stderr) = CliTests.Run([.. args]);
        Assert.Equal(2, code);
        Assert.Contains($"{empty}: no expert files", stderr);
        Assert.Contains($"mim4dd experts --dataset mnist --zca false --arch {TinyMnist.Arch}", stderr);
    }

    [Fact]
    public void APartialStore_IsRefusedWithHowToFinishIt()
    {
        // Shard 0 of 2 finished, shard 1 not: distilling now would use half the experts without a word.
        var partial = store.Dir.File("partial-store");
        Directory.CreateDirectory(partial);
        foreach (var file in Directory.GetFiles(store.Experts).Where(f => !f.EndsWith("expert_0001.m4e", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(partial, Path.GetFileName(file)));
        var (code, _, stderr) = store.Distill(store.Dir.File("partial-run"), "--method", "mtt", "--iterations", "1",
            "--experts", partial);
        Assert.Equal(2, code);
        Assert.Contains("holds 1 of the 2 experts its store.json lists", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Mim4dd_LowersItsLossAndChangesTheImages()
    {
        var run = store.Dir.File("mim");
        var (code, _, stderr) = store.Distill(run, "--method", "mim4dd", "--lambda", "0.1", "--mim-balance", "0", "--mim-warmup", "0",
            "--iterations", "6");
        Assert.True(code == 0, stderr);
        var addOn = Losses(run, "extra_loss");
        Assert.True(addOn.All(v => v > 0), "the MIM term is present");
        Assert.True(addOn[^1] < addOn[0], $"MIM loss {addOn[0]:F3} → {addOn[^1]:F3}");
        var mtt = store.Dir.File("mtt-6");
        Assert.Equal(0, store.Distill(mtt, "--method", "mtt", "--iterations", "6").Code);
        Assert.NotEqual(SyntheticBytes(mtt), SyntheticBytes(run));
    }

    [Fact]
    public void NaiveAndReverseUnrolls_GiveTheSameLossCurveInFloat32()
    {
        var reverse = store.Dir.File("reverse");
        var naive = store.Dir.File("naive");
        Assert.Equal(0, store.Distill(reverse, "--method", "mtt", "--iterations", "4").Code);
        Assert.Equal(0, store.Distill(naive, "--method", "mtt", "--iterations", "4", "--unroll", "naive").Code);
        var a = Losses(reverse, "match_loss");
        var b = Losses(naive, "match_loss");
        Assert.Equal(4, a.Length);
        // Same images at iteration 0: equal to float32 rounding. Each later iteration starts from images moved by
        // lr_img = 100 times the two paths' gradients (one step moves the loss 5 %, so a gradient 10 % off would show
        // as about 0.5 %), while rounding alone stayed within 6e-5 up to iteration 3 on Zen 5. Later iterations are
        // left out: there rounding grows chaotically (iteration 6: 0.12 % here, 1.1 % on another CI machine).
        Assert.True(Math.Abs(a[0] - b[0]) <= 1e-5 * Math.Abs(b[0]), $"iteration 0: {a[0]} vs {b[0]}");
        for (int i = 1; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-3 * Math.Abs(b[i]), $"iteration {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void KilledWhileWritingACheckpoint_KeepsTheLastGoodOne_AndResumeMatchesAnUnbrokenRun()
    {
        // kill -9 of a real process at the worst moment; the resumed run must end with the bytes and the one-line-per-
        // iteration metrics of an unbroken run (MTT's state is a subset of MIM4DD's, so this covers it too).
        // 40 images per class (stepped 4 at a time, so iterations stay cheap) and MIM heads on the flattened maps (with
        // their Adam moments, tens of MB) make a checkpoint whose write lasts long enough to be caught: watch for its temp
        // file and kill -9 the process while it is there. A loaded machine can still miss a write, hence up to 10 tries.
        string[] large = ["--method", "mim4dd", "--mim-warmup", "0", "--ipc", "40", "--batch-syn", "4", "--mim-features", "flat"];
        var run = store.Dir.File("killed-in-write");
        var metrics = Path.Combine(run, "metrics.jsonl");
        string[] Temps() => Directory.Exists(run) ? Directory.GetFiles(run, ".checkpoint.safetensors.*.tmp") : [];
        bool caught = false;
        for (int attempt = 0; attempt < 10 && !caught; attempt++)
        {
            var extra = File.Exists(Path.Combine(run, "checkpoint.safetensors")) ? new[] { "--resume" } : [];
            using var process = CliTests.Start(store.DistillArguments(run, [.. large, "--iterations", "100000", .. extra]));
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(120);
            // Only once a first checkpoint exists is there a "last good one" to keep.
            while (!(File.Exists(Path.Combine(run, "checkpoint.safetensors")) && Temps().Length > 0) && DateTime.UtcNow < deadline
                && !process.HasExited)
                Thread.SpinWait(1000);
            Assert.False(process.HasExited, "the run ended before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            caught = Temps().Length > 0;
        }
        Assert.True(caught, "no kill landed during a checkpoint write in 10 attempts");

        string total = (LineCount(metrics) + 2).ToString();
        var (code, log, err) = store.Distill(run, [.. large, "--iterations", total, "--resume"]);
        Assert.True(code == 0, err);
        Assert.Contains("partial file", log);
        Assert.Empty(Temps());
        var unbroken = store.Dir.File("unbroken-in-write");
        Assert.Equal(0, store.Distill(unbroken, [.. large, "--iterations", total]).Code);
        Assert.Equal(SyntheticBytes(unbroken), SyntheticBytes(run));
        Assert.Equal(Losses(unbroken, "loss"), Losses(run, "loss"));
    }

    static int LineCount(string path)
    {
        try { return File.Exists(path) ? File.ReadAllLines(path).Length : 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>Starts `mim4dd <paramref name="args"/>` as its own process, sends SIGTERM once <paramref name="ready"/>
    /// holds and returns its exit code and stderr.</summary>
    static async Task<(int Code, string Stderr)> StopWhen(string[] args, Func<bool> ready)
    {
        using var process = CliTests.Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(600);   // a loaded machine is slow; a timeout is its own failure below
        while (!ready() && DateTime.UtcNow < deadline && !process.HasExited)
            Thread.Sleep(50);
        if (process.HasExited) Assert.Fail($"the run ended before it could be stopped: {await stderr}");
        if (!ready())
        {
            process.Kill();
            Assert.Fail("the run did not reach the point to stop it at within 600 s");
        }
        // SIGTERM takes the same path as Ctrl-C's SIGINT, and unlike SIGINT it is not ignored when the tests run
        // as a background job of a non-interactive shell (as CI runs them).
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
        process.WaitForExit();
        await stdout;
        return (process.ExitCode, await stderr);
    }

    [Fact]
    public async Task StopSignal_SavesACheckpointAndExits130_AndResumeMatchesAnUnbrokenRun()
    {
        // Far more iterations than can run before the signal lands, so the stop always comes mid-run.
        var stopped = store.Dir.File("stopped-sigint");
        var metrics = Path.Combine(stopped, "metrics.jsonl");
        var (exit, stderr) = await StopWhen(store.DistillArguments(stopped, "--method", "mim4dd", "--mim-warmup", "0",
            "--iterations", "100000"), () => LineCount(metrics) >= 1);
        Assert.Equal(130, exit);
        Assert.Contains("--resume", stderr);
        Assert.True(File.Exists(Path.Combine(stopped, "checkpoint.safetensors")));
        Assert.False(File.Exists(Path.Combine(stopped, "syn.safetensors")));
        int done = File.ReadAllLines(metrics).Length;

        // Resuming to two iterations past the stop gives the bytes of an unbroken run of that length.
        string total = (done + 2).ToString();
        var (code, _, err) = store.Distill(stopped, "--method", "mim4dd", "--mim-warmup", "0", "--iterations", total, "--resume");
        Assert.True(code == 0, err);
        var unbroken = store.Dir.File("unbroken-sigint");
        Assert.Equal(0, store.Distill(unbroken, "--method", "mim4dd", "--mim-warmup", "0", "--iterations", total).Code);
        Assert.Equal(SyntheticBytes(unbroken), SyntheticBytes(stopped));
        Assert.Equal(Losses(unbroken, "loss"), Losses(stopped, "loss"));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(stopped, "config.json")));
        Assert.Equal(done + 2, config.RootElement.GetProperty("distill").GetProperty("options")
            .GetProperty("Iterations").GetInt32());   // the resumed run's count
    }

    [Fact]
    public async Task StopDuringAnEvaluation_KeepsItsFinishedNets_AndResumeEvaluatesBeforeGoingOn()
    {
        // Nets of a second or so each: the signal lands in the second net of iteration 1's evaluation, and the run must
        // stop within an epoch; resumed, it finishes that evaluation first, then iteration 2 and the final one.
        string[] Args(string dir) => ["distill", "--method", "dm", "--dataset", "mnist", "--data-dir", store.DataDir,
            "--arch", TinyMnist.Arch, "--ipc", "1", "--batch-real", "8", "--iterations", "2", "--eval-every", "1",
            "--eval-repeats", "2", "--eval-epochs", "200", "--out", dir];
        static string[] Evaluations(string run) => File.ReadAllLines(Path.Combine(run, "evals.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(e => $"{e.GetProperty("iteration")}: {e.GetProperty("accuracies")}").ToArray();
        var stopped = store.Dir.File("stopped-in-eval");
        var nets = Path.Combine(stopped, "eval-nets.jsonl");
        var (exit, stderr) = await StopWhen(Args(stopped), () => LineCount(nets) >= 1);
        Assert.Equal(130, exit);
        Assert.Contains("during the evaluation of iteration 1", stderr);
        Assert.Equal(1, LineCount(nets));
        Assert.False(File.Exists(Path.Combine(stopped, "evals.jsonl")));

        var (code, _, err) = CliTests.Run([.. Args(stopped), "--resume"]);
        Assert.True(code == 0, err);
        Assert.Contains("1 net(s) already in", File.ReadAllText(Path.Combine(stopped, "log.txt")));
        var unbroken = store.Dir.File("unbroken-eval");
        Assert.Equal(0, CliTests.Run(Args(unbroken)).Code);
        Assert.Equal(2, Evaluations(unbroken).Length);
        Assert.Equal(Evaluations(unbroken), Evaluations(stopped));
        Assert.Equal(SyntheticBytes(unbroken), SyntheticBytes(stopped));
    }

    [Fact]
    public void ExistingRunWithoutResume_AndChangedOptionsOnResume_AreRefused()
    {
        var run = store.Dir.File("refuse");
        Assert.Equal(0, store.Distill(run, "--method", "mtt", "--iterations", "1").Code);
        var (code, _, stderr) = store.Distill(run, "--method", "mtt", "--iterations", "2");
        Assert.Equal(2, code);
        Assert.Contains("--resume", stderr);
        (code, _, stderr) = store.Distill(run, "--method", "mtt", "--iterations", "2", "--resume", "--lr-lr", "1e-4");
        Assert.Equal(2, code);
        Assert.Contains("different options", stderr);
    }

    [Theory]
    [InlineData("--preset", "mnist-ipc99", "unknown preset")]
    [InlineData("--preset", "cifar10-ipc10", "is a cifar10 preset")]
    [InlineData("--tau", "0", "--tau")]
    [InlineData("--mim-critic", "infonce", "use nce or supcon")]
    [InlineData("--mim-features", "max", "use pooled or flat")]
    [InlineData("--head-steps", "-1", "--head-steps")]
    [InlineData("--mim-warmup", "-1", "--mim-warmup 10")]
    [InlineData("--mim-balance", "-1", "--mim-balance 0.25")]
    [InlineData("--syn-steps", "0", "--syn-steps")]
    [InlineData("--expert-epochs", "4", "exceeds")]
    public void BadDistillOptions_ExitTwo(string option, string value, string expected)
    {
        var (code, _, stderr) = store.Distill(store.Dir.File($"bad-{option}-{value}"), "--iterations", "1", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
