using System.Globalization;
using System.Text.Json;
using Mim4dd.Tests.Distill;

namespace Mim4dd.Tests.Cli;

public class CompareTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    [Fact]
    public void RealCoresetAndDistillRuns_BecomeOneTable_WithTheirOwnNumbers()
    {
        var coreset = store.Dir.File("cmp-random");
        var dm = store.Dir.File("cmp-dm");
        var (code, _, stderr) = CliTests.Run("coreset", "--method", "random", "--dataset", "mnist", "--data-dir", store.DataDir, "--ipc", "1",
            "--epochs", "2", "--repeats", "2", "--augment", "none", "--out", coreset);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliTests.Run("distill", "--method", "dm", "--dataset", "mnist", "--data-dir", store.DataDir, "--ipc", "1", "--batch-real", "8",
            "--iterations", "2", "--eval-every", "1", "--eval-repeats", "2", "--eval-epochs", "2", "--out", dm);
        Assert.True(code == 0, stderr);
        var table = store.Dir.File("cmp.md");
        (code, var stdout, stderr) = CliTests.Run("compare", coreset, dm, "--output", table);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("| run | method |", lines[0]);
        Assert.Equal(File.ReadAllText(table).Trim(), stdout.Trim());

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(coreset, "results.json")));
        var mean = (100 * results.RootElement.GetProperty("Mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture);
        Assert.Contains(lines, l => l.StartsWith("| cmp-random | random | mnist | 1 | ConvNet | " + mean));
        var final = JsonDocument.Parse(File.ReadAllLines(Path.Combine(dm, "evals.jsonl"))[^1]).RootElement;
        var dmMean = (100 * final.GetProperty("mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture);
        Assert.Contains(lines, l => l.StartsWith("| cmp-dm | dm | mnist | 1 | ConvNet | " + dmMean) && l.Contains("final, it 2"));
    }

    [Fact]
    public void NotARunDirectory_OrAnUnreadableResult_ExitsTwoWithTheDirectory()
    {
        var empty = store.Dir.File("cmp-empty");
        Directory.CreateDirectory(empty);
        var (code, _, stderr) = CliTests.Run("compare", empty);
        Assert.Equal(2, code);
        Assert.Contains("cmp-empty", stderr);
        Assert.Contains("config.json", stderr);

        var broken = store.Dir.File("cmp-broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "config.json"), "{\"Method\":\"random\",\"Dataset\":\"mnist\",\"ImagesPerClass\":1}");
        File.WriteAllText(Path.Combine(broken, "results.json"), "{\"Config\": {\"Method\": \"random\"");
        (code, _, stderr) = CliTests.Run("compare", broken);
        Assert.Equal(2, code);
        Assert.Contains("cannot be read", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
