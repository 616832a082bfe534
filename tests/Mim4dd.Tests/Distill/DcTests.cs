using System.Text.Json;
using Mim4dd.Distill;
using Mim4dd.Tests.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class DcTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private (int Code, string Stdout, string Stderr) RunDc(string method, string outDir, params string[] extra) =>
        CliTests.Run(["distill", .. CliTests.WithDefaults(
            ["--method", method, "--dataset", "mnist", "--data-dir", store.DataDir, "--arch", TinyMnist.Arch, "--ipc", "1",
             "--batch-real", "16",
             "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "3", "--checkpoint-every", "1", "--out", outDir], extra)]);

    private static double[] Losses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToArray();

    [Fact]
    public void Distance_IsOneMinusCosinePerOutputRow_AndIgnoresOneDimensionalTensors()
    {
        using var scope = NewDisposeScope();
        // Linear weight: row 0 parallel (0), row 1 orthogonal (1). Conv weight [1,1,1,2]: cos([3,4],[4,3]) = 24/25.
        // The bias differs completely but is 1-D, so it adds nothing.
        var real = new[] { tensor(new double[,] { { 1, 0 }, { 0, 1 } }), tensor(new double[] { 3, 4 }).view(1, 1, 1, 2),
            tensor(new double[] { 1, 2 }) };
        var syn = new[] { tensor(new double[,] { { 2, 0 }, { 1, 0 } }), tensor(new double[] { 4, 3 }).view(1, 1, 1, 2),
            tensor(new double[] { -5, 7 }) };
        double expected = (1 - 2 / (2 + 1e-6)) + 1 + (1 - 24 / (25 + 1e-6));
        Assert.Equal(expected, Dc.Distance(real, syn).ToDouble(), 12);
    }

    [Theory]
    [InlineData("dc")]
    [InlineData("dsa")]
    public void TinyRealRun_LowersItsLossAndChangesTheImages(string method)
    {
        var run = store.Dir.File($"{method}-learn");
        var (code, _, stderr) = RunDc(method, run, "--iterations", "12", "--lr-img", "1");
        Assert.True(code == 0, stderr);
        // One image per class sends LibTorch to NNPACK, which would warn at every convolution (TorchRuntime turns it off).
        Assert.DoesNotContain("NNPACK", stderr);
        var losses = Losses(run);
        Assert.Equal(12, losses.Length);
        // A fresh random network each iteration makes single losses noisy: compare the first and last thirds.
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average(), string.Join(", ", losses));
        var still = store.Dir.File($"{method}-still");
        Assert.Equal(0, RunDc(method, still, "--iterations", "1", "--lr-img", "1e-12").Code);
        using var set = Mim4dd.IO.SyntheticSet.Load(Path.Combine(run, "syn.safetensors"));
        using var initial = Mim4dd.IO.SyntheticSet.Load(Path.Combine(still, "syn.safetensors"));
        Assert.True(set.Images.sub(initial.Images).abs().max().item<float>() > 1e-3f);
        Assert.Equal(0.01, set.LearningRate, 1e-8);   // DC learns no lr: the protocol's 0.01 (stored as float32)
    }

    [Fact]
    public void ResumedRun_EqualsAnUnbrokenOne()
    {
        var unbroken = store.Dir.File("dsa-unbroken");
        var broken = store.Dir.File("dsa-broken");
        Assert.Equal(0, RunDc("dsa", unbroken, "--iterations", "3").Code);
        Assert.Equal(0, RunDc("dsa", broken, "--iterations", "2").Code);
        File.Delete(Path.Combine(broken, "syn.safetensors"));
        var (code, _, stderr) = RunDc("dsa", broken, "--iterations", "3", "--resume");
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(unbroken, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(broken, "syn.safetensors")));
        Assert.Equal(Losses(unbroken), Losses(broken));
    }

    [Theory]
    [InlineData("--ipc", "--ipc", "2")]
    [InlineData("--lr-net", "--lr-net", "0")]
    [InlineData("--batch-real", "--batch-real", "100000")]
    public void BadOptions_ExitTwo(string expected, params string[] args)
    {
        var (code, _, stderr) = RunDc("dc", store.Dir.File("dc-bad"), [.. args, "--iterations", "1"]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
