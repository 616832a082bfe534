using System.Text.Json;
using Mim4dd.Tests.Cli;

namespace Mim4dd.Tests.Distill;

public class BpttTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private (int Code, string Stdout, string Stderr) RunBptt(string outDir, params string[] extra) =>
        CliTests.Run(["distill", .. CliTests.WithDefaults(
            ["--method", "bptt", "--dataset", "mnist", "--data-dir", store.DataDir, "--arch", TinyMnist.Arch, "--ipc", "2",
             "--syn-steps", "3", "--batch-real", "8",
             "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "3", "--checkpoint-every", "1", "--out", outDir], extra)]);

    private static double[] Column(string run, string name) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty(name).GetDouble()).ToArray();

    [Fact]
    public void Deterministic_GivesTheOneThreadBytesOnAnyCoreCount_AndIsRecorded()
    {
        string oneThread = store.Dir.File("bptt-threads1"), deterministic = store.Dir.File("bptt-deterministic");
        var (code, _, stderr) = RunBptt(oneThread, "--iterations", "2", "--threads", "1");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = RunBptt(deterministic, "--iterations", "2", "--deterministic");   // default: every core
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(oneThread, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(deterministic, "syn.safetensors")));
        var machine = JsonDocument.Parse(File.ReadAllText(Path.Combine(deterministic, "config.json"))).RootElement
            .GetProperty("distill").GetProperty("machine");
        Assert.True(machine.GetProperty("Deterministic").GetBoolean());
        Assert.Equal(1, machine.GetProperty("Threads").GetInt32());

        (code, _, stderr) = RunBptt(store.Dir.File("bptt-det-threads"), "--iterations", "1", "--deterministic", "--threads", "2");
        Assert.Equal(2, code);
        Assert.Contains("--deterministic", stderr);
    }

    [Fact]
    public void TinyRealRun_LowersItsLossAndChangesTheImages()
    {
        var run = store.Dir.File("bptt-learn");
        var (code, _, stderr) = RunBptt(run, "--iterations", "12", "--lr-img", "30");
        Assert.True(code == 0, stderr);
        var losses = Column(run, "loss");
        Assert.Equal(12, losses.Length);
        // A fresh network and a fresh real batch each iteration make single losses noisy: compare thirds.
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average(), string.Join(", ", losses));
        var still = store.Dir.File("bptt-still");
        Assert.Equal(0, RunBptt(still, "--iterations", "1", "--lr-img", "1e-12").Code);
        using var set = Mim4dd.IO.SyntheticSet.Load(Path.Combine(run, "syn.safetensors"));
        using var initial = Mim4dd.IO.SyntheticSet.Load(Path.Combine(still, "syn.safetensors"));
        Assert.True(set.Images.sub(initial.Images).abs().max().item<float>() > 1e-3f);
    }

    [Theory]
    [InlineData("--mim-bank", "0")]
    [InlineData("--mim-bank", "2")]   // the memory is in the checkpoint too (a ring of 2 wraps within the first iteration)
    public void ResumedMimRun_EqualsAnUnbrokenOne(params string[] memory)
    {
        var unbroken = store.Dir.File($"bptt-unbroken{memory[1]}");
        var broken = store.Dir.File($"bptt-broken{memory[1]}");
        Assert.Equal(0, RunBptt(unbroken, ["--iterations", "3", "--mim", "--mim-warmup", "0", .. memory]).Code);
        Assert.Equal(0, RunBptt(broken, ["--iterations", "2", "--mim", "--mim-warmup", "0", .. memory]).Code);
        File.Delete(Path.Combine(broken, "syn.safetensors"));
        var (code, _, stderr) = RunBptt(broken, ["--iterations", "3", "--mim", "--mim-warmup", "0", "--resume", .. memory]);
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(unbroken, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(broken, "syn.safetensors")));
    }

    [Fact]
    public void MimFlagOnTrajectoryMatching_PointsToMim4dd()
    {
        var (code, _, stderr) = CliTests.Run("distill", "--method", "mtt", "--mim", "--dataset", "mnist", "--data-dir", store.DataDir,
            "--ipc", "2", "--iterations", "1", "--out", store.Dir.File("mtt-mim"));
        Assert.Equal(2, code);
        Assert.Contains("--mim: `distill mtt` does not read it", stderr);
        Assert.Contains("distill mim4dd", stderr);
    }

    [Theory]
    [InlineData("--preset: `distill bptt` does not read it (read by mim4dd, mtt, datm)", "--preset", "mnist-ipc10")]
    [InlineData("--syn-steps", "--syn-steps", "0")]
    public void BadOptions_ExitTwo(string expected, params string[] args)
    {
        var (code, _, stderr) = RunBptt(store.Dir.File("bptt-bad"), [.. args, "--iterations", "1"]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
