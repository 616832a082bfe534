using System.Text.Json;
using Mim4dd.Distill;
using Mim4dd.Tests.Cli;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class DmTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private (int Code, string Stdout, string Stderr) RunDm(string outDir, params string[] extra) =>
        CliTests.Run(["distill", .. CliTests.WithDefaults(
            ["--method", "dm", "--dataset", "mnist", "--data-dir", store.DataDir, "--arch", TinyMnist.Arch, "--ipc", "2",
             "--batch-real", "16",
             "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "3", "--checkpoint-every", "1", "--out", outDir], extra)]);

    private static double[] Losses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToArray();

    [Fact]
    public void ClassMeans_AverageEachClassBlock()
    {
        // Two classes, two rows each: means by hand.
        using var embeddings = tensor(new double[,] { { 1, 2 }, { 3, 4 }, { 10, 0 }, { 20, 2 } });
        using var means = Dm.ClassMeans(embeddings, perClass: 2, classes: 2);
        Assert.Equal(new double[] { 2, 3, 15, 1 }, means.data<double>().ToArray());
    }

    [Fact]
    public void TinyRealRun_LowersItsLossAndChangesTheImages()
    {
        var run = store.Dir.File("dm-learn");
        var (code, _, stderr) = RunDm(run, "--iterations", "12", "--lr-img", "1");
        Assert.True(code == 0, stderr);
        var losses = Losses(run);
        Assert.Equal(12, losses.Length);
        // A fresh random network each iteration makes single losses noisy: compare the first and last thirds.
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average(), string.Join(", ", losses));
        using var set = Mim4dd.IO.SyntheticSet.Load(Path.Combine(run, "syn.safetensors"));
        using var initial = Mim4dd.IO.SyntheticSet.Load(Path.Combine(RunDm(store.Dir.File("dm-zero"), "--iterations", "1",
            "--lr-img", "1e-12").Code == 0
            ? store.Dir.File("dm-zero") : throw new InvalidOperationException(), "syn.safetensors"));
        Assert.True(set.Images.sub(initial.Images).abs().max().item<float>() > 1e-3f);
        Assert.Equal(0.01, set.LearningRate, 1e-8);   // DM learns no lr: the protocol's 0.01 (stored as float32)
    }

    [Fact]
    public void ResumedRun_EqualsAnUnbrokenOne()
    {
        var unbroken = store.Dir.File("dm-unbroken");
        var broken = store.Dir.File("dm-broken");
        Assert.Equal(0, RunDm(unbroken, "--iterations", "4").Code);
        Assert.Equal(0, RunDm(broken, "--iterations", "2").Code);
        File.Delete(Path.Combine(broken, "syn.safetensors"));
        var (code, _, stderr) = RunDm(broken, "--iterations", "4", "--resume");
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(unbroken, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(broken, "syn.safetensors")));
        Assert.Equal(Losses(unbroken), Losses(broken));
    }

    [Fact]
    public void RunKilledDuringItsFinalEvaluation_IsEvaluatedOnResume()
    {
        var run = store.Dir.File("dm-final-eval");
        Assert.Equal(0, RunDm(run, "--iterations", "2").Code);
        // What a kill during the final evaluation leaves: the last checkpoint, no evaluation line, no set.
        File.Delete(Path.Combine(run, "evals.jsonl"));
        File.Delete(Path.Combine(run, "syn.safetensors"));
        var (code, _, stderr) = RunDm(run, "--iterations", "2", "--resume");
        Assert.True(code == 0, stderr);
        Assert.Single(File.ReadAllLines(Path.Combine(run, "evals.jsonl")));
        Assert.True(File.Exists(Path.Combine(run, "syn.safetensors")));
    }

    [Fact]
    public void ResumeWithChangedOptions_IsRefused_UnlessForced_AndForceKeepsTheSetShape()
    {
        var run = store.Dir.File("dm-force");
        Assert.Equal(0, RunDm(run, "--iterations", "2").Code);
        File.Delete(Path.Combine(run, "syn.safetensors"));
        var (code, _, stderr) = RunDm(run, "--iterations", "3", "--lr-img", "5", "--resume");
        Assert.Equal(2, code);
        Assert.Contains("different options", stderr);
        Assert.Contains("--force", stderr);
        (code, _, stderr) = RunDm(run, "--iterations", "3", "--ipc", "3", "--resume", "--force");
        Assert.Equal(2, code);
        Assert.Contains("size or classes", stderr);
        (code, _, stderr) = RunDm(run, "--iterations", "3", "--lr-img", "5", "--resume", "--force");
        Assert.True(code == 0, stderr);
        Assert.Equal(3, Losses(run).Length);
        Assert.Contains("\"LrImg\": 5", File.ReadAllText(Path.Combine(run, "config.json")));
        (code, _, stderr) = RunDm(store.Dir.File("dm-force-alone"), "--iterations", "1", "--force");
        Assert.Equal(2, code);
        Assert.Contains("only applies with --resume", stderr);
    }

    [Theory]
    [InlineData("--lr-img", "--lr-img", "0")]
    [InlineData("--batch-real", "--batch-real", "0")]
    [InlineData("--batch-real", "--batch-real", "100000")]
    public void BadOptions_ExitTwo(string expected, params string[] args)
    {
        var (code, _, stderr) = RunDm(store.Dir.File("dm-bad"), [.. args, "--iterations", "1"]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
