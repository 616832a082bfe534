using System.Text.Json;
using Mim4dd.Tests.Cli;

namespace Mim4dd.Tests.Distill;

/// <summary>`--mim` on the methods without experts: λ = 0 changes nothing, λ &gt; 0 adds a positive term and changes the set.</summary>
public class MimOnEveryMethodTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private (int Code, string Stdout, string Stderr) Run(string method, string outDir, params string[] extra) =>
        CliTests.Run(CliTests.Distill(method,
            ["--dataset", "mnist", "--data-dir", store.DataDir, "--arch", TinyMnist.Arch, "--ipc", "1", "--batch-real", "16",
             "--syn-steps", "3", "--iterations", "2", "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "2",
             "--out", outDir], extra));

    [Theory]
    [InlineData("bptt")]
    [InlineData("dm")]
    [InlineData("dc")]
    [InlineData("dsa")]
    public void LambdaZeroIsBitIdentical_AndMimChangesTheSet(string method)
    {
        var plain = store.Dir.File($"{method}-plain");
        var zero = store.Dir.File($"{method}-mim-zero");
        var mim = store.Dir.File($"{method}-mim");
        var (code, _, stderr) = Run(method, plain);
        Assert.True(code == 0, stderr);
        Assert.Equal(0, Run(method, zero, "--mim", "--lambda", "0").Code);
        (code, _, stderr) = Run(method, mim, "--mim", "--lambda", "1", "--mim-warmup", "0");
        Assert.True(code == 0, stderr);
        var plainBytes = File.ReadAllBytes(Path.Combine(plain, "syn.safetensors"));
        Assert.Equal(plainBytes, File.ReadAllBytes(Path.Combine(zero, "syn.safetensors")));
        Assert.NotEqual(plainBytes, File.ReadAllBytes(Path.Combine(mim, "syn.safetensors")));
        var extra = File.ReadAllLines(Path.Combine(mim, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("extra_loss").GetDouble()).ToArray();
        Assert.Equal(2, extra.Length);
        Assert.All(extra, v => Assert.True(v > 0, $"MIM term {v}"));
    }
}
