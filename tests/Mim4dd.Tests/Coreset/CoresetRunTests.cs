using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.IO;

namespace Mim4dd.Tests.Coreset;

/// <summary>A killed coreset run keeps the evaluation nets it finished: only the missing ones are trained again.</summary>
public class CoresetRunTests
{
    private static DataSplit Slice() => TestData.MnistSlice(1000, 200);

    private static CoresetRun.Config Config(int epochs) =>
        new("random", "mnist", 1, "ConvNet", 3, epochs, "none", 0, "ConvNet", 1, "test", "test");

    [Fact]
    public void FinishedEvaluationNets_AreKept_TheRestRetrainedExactly()
    {
        using var dir = new TestData.TempDir();
        using var data = Slice();
        var unbroken = CoresetRun.Run(data, Config(2), new RunDirectory(dir.File("unbroken")), TestData.CacheDir, _ => { });

        // A run killed after nets 0 and 2 (marked with impossible accuracies, to see that they are not retrained),
        // its file ending in a line cut by the kill.
        var killed = new RunDirectory(dir.File("killed"));
        killed.WriteJson(killed.Config, Config(2) with { Version = "older", Machine = "other" });
        File.WriteAllText(killed.Repeats, "{\"Repeat\":0,\"Accuracy\":0.125}\n{\"Repeat\":2,\"Accuracy\":0.375}\n{\"Repeat\":1,\"Acc");
        var lines = new List<string>();
        var resumed = CoresetRun.Run(data, Config(2), killed, TestData.CacheDir, lines.Add);

        Assert.Equal(new[] { 0.125, unbroken.Accuracies[1], 0.375 }, resumed.Accuracies);
        Assert.Contains(lines, l => l.StartsWith("resuming: 2 of 3"));
        Assert.Equal(3, File.ReadAllLines(killed.Repeats).Length);
    }

    [Fact]
    public void AnotherConfig_StartsTheEvaluationAfresh()
    {
        using var dir = new TestData.TempDir();
        using var data = Slice();
        var run = new RunDirectory(dir.File("run"));
        run.WriteJson(run.Config, Config(3));
        File.WriteAllText(run.Repeats, "{\"Repeat\":0,\"Accuracy\":0.125}\n");
        var result = CoresetRun.Run(data, Config(2), run, TestData.CacheDir, _ => { });
        Assert.DoesNotContain(0.125, result.Accuracies);
        Assert.Equal(3, File.ReadAllLines(run.Repeats).Length);
    }

    [Fact]
    public void StopRequest_EndsWithinANet_KeepingTheFinishedOnes()
    {
        using var dir = new TestData.TempDir();
        using var data = Slice();
        var run = new RunDirectory(dir.File("run"));
        using var stop = new CancellationTokenSource();
        var error = Assert.Throws<Mim4dd.Runtime.RunStoppedException>(() => CoresetRun.Run(data, Config(2), run, TestData.CacheDir,
            line => { if (line.Contains("eval 1/3")) stop.Cancel(); }, stop.Token));
        Assert.Contains($"finished nets are kept in {run.Repeats}", error.Message);
        Assert.Single(File.ReadAllLines(run.Repeats));
        Assert.False(File.Exists(run.Results));

        var lines = new List<string>();
        var resumed = CoresetRun.Run(data, Config(2), run, TestData.CacheDir, lines.Add);
        Assert.Contains(lines, l => l.StartsWith("resuming: 1 of 3"));
        Assert.Equal(3, resumed.Accuracies.Length);
    }
}
