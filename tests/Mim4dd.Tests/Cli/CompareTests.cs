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
        var (code, _, stderr) = CliTests.Run("coreset", "--method", "random", "--dataset", "mnist", "--data-dir", store.DataDir,
            "--ipc", "1", "--epochs", "2", "--repeats", "2", "--augment", "none", "--out", coreset);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = store.DistillDm(dm, iterations: 2, evalEvery: 1, evalRepeats: 2);
        Assert.True(code == 0, stderr);
        // A run still distilling (config.json, no evaluation yet) beside them is left out with a note; alone, it is an error.
        var running = store.Dir.File("cmp-running");
        Directory.CreateDirectory(running);
        File.Copy(Path.Combine(dm, "config.json"), Path.Combine(running, "config.json"), overwrite: true);
        (code, var withRunning, stderr) = CliTests.Run("compare", coreset, running, dm);
        Assert.True(code == 0, stderr);
        Assert.Contains("left out " + running + ": no evaluation yet", stderr);
        Assert.DoesNotContain("cmp-running", withRunning);
        (code, _, stderr) = CliTests.Run("compare", running);
        Assert.Equal(2, code);
        Assert.Contains("cmp-running: holds no evaluation yet", stderr);

        var table = store.Dir.File("cmp.md");
        (code, var stdout, stderr) = CliTests.Run("compare", coreset, dm, "--output", table);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("| run | method |", lines[0]);
        Assert.Equal(File.ReadAllText(table).Trim(), stdout.Trim());

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(coreset, "results.json")));
        var mean = (100 * results.RootElement.GetProperty("Mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture);
        Assert.Contains(lines, l => l.StartsWith("| cmp-random | random | mnist | 1 | ConvNet | hard | " + mean));
        var final = JsonDocument.Parse(File.ReadAllLines(Path.Combine(dm, "evals.jsonl"))[^1]).RootElement;
        var dmMean = (100 * final.GetProperty("mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture);
        Assert.Contains(lines, l => l.StartsWith("| cmp-dm | dm | mnist | 1 | ConvNet | hard | " + dmMean) && l.Contains("final, it 2")
            && l.EndsWith("| – |"));

        // `mim4dd mi` on a set writes mi.json beside it; compare then shows the set's summed bound in its last column.
        (code, var printed, stderr) = CliTests.Run("mi", dm, "--experts", store.Experts, "--data-dir", store.DataDir, "--steps", "3",
            "--batches", "2", "--batch-real", "2", "--threads", "1");
        Assert.True(code == 0, stderr);
        using var mi = JsonDocument.Parse(File.ReadAllText(Path.Combine(dm, "mi.json")));
        var total = mi.RootElement.GetProperty("total").GetDouble().ToString("F3", CultureInfo.InvariantCulture);
        Assert.Contains($"| sum | {total} |", printed);
        (code, stdout, stderr) = CliTests.Run("compare", coreset, dm);
        Assert.True(code == 0, stderr);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("| cmp-dm | dm |") && l.EndsWith($"| {total} | – | – | – |"));
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("| cmp-random | random |") && l.EndsWith("| – | – | – | – |"));
    }

    [Fact]
    public void Mi_ReadsAPixelSpaceSet_WithAZcaStore_InTheStoresSpace()
    {
        var dm = store.Dir.File("mi-dm");
        var (code, _, stderr) = store.DistillDm(dm, iterations: 1, evalEvery: 0);
        Assert.True(code == 0, stderr);
        var zcaStore = store.Dir.File("mi-zca-experts");
        (code, _, stderr) = CliTests.Run("experts", "--dataset", "mnist", "--data-dir", store.DataDir, "--num-experts", "1",
            "--train-epochs", "1", "--batch-train", "64", "--arch", TinyMnist.Arch, "--zca", "--out", zcaStore, "--threads", "1");
        Assert.True(code == 0, stderr);
        (code, var printed, stderr) = CliTests.Run("mi", dm, "--experts", zcaStore, "--data-dir", store.DataDir, "--steps", "3",
            "--batches", "2", "--batch-real", "2", "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("normalised pixel space, the experts in ZCA space", printed);
        using var mi = JsonDocument.Parse(File.ReadAllText(Path.Combine(dm, "mi.json")));
        Assert.True(double.IsFinite(mi.RootElement.GetProperty("total").GetDouble()));
        Assert.Equal(Path.GetFullPath(zcaStore), mi.RootElement.GetProperty("store").GetString());
    }

    [Fact]
    public void Mi_ReadsAnotherToolsSet_InTheStoresDatasetAndSpace_AsItReadsOurs()
    {
        var dm = store.Dir.File("mi-import-dm");
        var (code, _, stderr) = store.DistillDm(dm, iterations: 1, evalEvery: 0);
        Assert.True(code == 0, stderr);
        string[] Bounds(string set)
        {
            var (code, printed, stderr) = CliTests.Run("mi", set, "--experts", store.Experts, "--data-dir", store.DataDir, "--steps", "3",
                "--batches", "2", "--batch-real", "2", "--threads", "1");
            Assert.True(code == 0, stderr);
            return printed.Split('\n').Where(l => l.StartsWith("| block") || l.StartsWith("| sum")).ToArray();
        }
        var ours = Bounds(dm);
        Assert.Equal(4, ours.Length);
        foreach (var format in new[] { "mtt", "npz" })
        {
            (code, _, stderr) = CliTests.Run("export", dm, "--format", format, "--out", store.Dir.File($"mi-import-{format}"));
            Assert.True(code == 0, stderr);
        }
        // The MTT layout's folder, the .npz and the run's own syn.pt hold the same images and labels: the same estimate.
        Assert.Equal(ours, Bounds(store.Dir.File("mi-import-mtt")));
        Assert.Equal(ours, Bounds(store.Dir.File("mi-import-npz/set.npz")));
        Assert.Equal(ours, Bounds(Path.Combine(dm, "syn.pt")));

        (code, _, stderr) = CliTests.Run("mi", Path.Combine(dm, "syn.pt"), "--data-dir", store.DataDir);
        Assert.Equal(2, code);
        Assert.Contains("names neither its dataset nor its space; pass --experts", stderr);

        // A label outside the store's dataset is refused by mi and eval alike, before any training.
        var bad = store.Dir.File("mi-import-bad.npz");
        using (var images = Mim4dd.IO.SetImport.Load(store.Dir.File("mi-import-npz/set.npz"), "mnist", null, out _))
            Mim4dd.IO.NpzWriter.Save(bad, new Dictionary<string, TorchSharp.torch.Tensor>
            {
                ["x"] = images.Images, ["y"] = TorchSharp.torch.full(images.Images.shape[0], 12L),
            });
        foreach (var command in new[] { "mi", "eval" })
        {
            (code, _, stderr) = CliTests.Run(command, bad, "--experts", store.Experts, "--data-dir", store.DataDir, "--threads", "1");
            Assert.Equal(2, code);
            Assert.Contains("labels outside mnist's 10 classes", stderr);
        }
    }

    [Fact]
    public void Eval_KeepsEachFinishedNet_AndTrainsOnlyTheMissingOnes_AsAnUnbrokenEvaluation()
    {
        var dm = store.Dir.File("eval-dm");
        var (code, _, stderr) = store.DistillDm(dm, iterations: 1, evalEvery: 0);
        Assert.True(code == 0, stderr);
        (int Code, string Stdout, string Stderr) Eval(string set, int repeats) =>
            CliTests.Run("eval", set, "--data-dir", store.DataDir, "--arch", "MLP,LeNet", "--repeats", $"{repeats}", "--epochs", "2",
                "--threads", "1");
        int Nets() => File.ReadAllLines(Path.Combine(dm, "eval-nets.jsonl")).Length;
        int distilled = Nets();   // the distillation's own evaluation nets
        (code, _, stderr) = Eval(dm, 1);
        Assert.True(code == 0, stderr);
        Assert.Equal(distilled + 2, Nets());   // one line per finished net
        (code, var log, stderr) = Eval(dm, 2);
        Assert.True(code == 0, stderr);
        Assert.Contains("MLP: training 1 of 2 networks", log);
        Assert.Contains("LeNet: training 1 of 2 networks", log);
        Assert.Equal(distilled + 4, Nets());
        (code, log, stderr) = Eval(dm, 2);   // every net known: nothing trained, the file still counts the time they took
        Assert.True(code == 0, stderr);
        Assert.Contains("MLP: training 0 of 2 networks", log);

        // The same set as a bare file: no log, every net trained in one go.
        var bare = store.Dir.File("eval-dm.safetensors");
        File.Copy(Path.Combine(dm, "syn.safetensors"), bare, overwrite: true);
        var (bareCode, bareTable, bareErr) = Eval(bare, 2);
        Assert.True(bareCode == 0, bareErr);
        var written = Directory.GetFiles(dm, "eval-e2-*.json");
        Assert.Single(written);
        using var json = JsonDocument.Parse(File.ReadAllText(written[0]));
        foreach (var r in json.RootElement.GetProperty("results").EnumerateArray())
        {
            Assert.Equal(2, r.GetProperty("Accuracies").GetArrayLength());
            Assert.True(r.GetProperty("Seconds").GetDouble() > 0);
            var row = $"| {r.GetProperty("Arch").GetString()} | hard | "
                + $"{(100 * r.GetProperty("Mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture)} ± "
                + $"{(100 * r.GetProperty("Std").GetDouble()).ToString("F2", CultureInfo.InvariantCulture)} |";
            Assert.Contains(row, bareTable);
        }
        // A net that cannot fit the set (here an absurd lr) is named as such, with the lr to try.
        (int Code, string Stdout, string Stderr) Fit(string lr) =>
            CliTests.Run("eval", bare, "--data-dir", store.DataDir, "--arch", "MLP", "--repeats", "1", "--epochs", "100",
                "--augment", "none", "--lr", lr);
        var (hugeCode, hugeLog, hugeErr) = Fit("1000");
        Assert.True(hugeCode == 0, hugeErr);
        Assert.Contains("MLP: the nets did not fit the set", hugeLog);
        Assert.Contains("try --lr 0.01", hugeLog);
        var (fitCode, fitLog, fitErr) = Fit("0.01");
        Assert.True(fitCode == 0, fitErr);
        Assert.DoesNotContain("did not fit", fitLog);
        // Another architecture with the same protocol joins the same file instead of replacing it.
        (code, _, stderr) = CliTests.Run("eval", dm, "--data-dir", store.DataDir, "--arch", "ConvNet", "--repeats", "1", "--epochs", "2",
            "--threads", "1");
        Assert.True(code == 0, stderr);
        using (var joined = JsonDocument.Parse(File.ReadAllText(written[0])))
            Assert.Equal(["MLP", "LeNet", "ConvNet"],
                joined.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("Arch").GetString()));
        var (cmpCode, cmp, cmpErr) = CliTests.Run("compare", dm);
        Assert.True(cmpCode == 0, cmpErr);
        Assert.Contains(cmp.Split('\n'), l => l.Contains("| LeNet |") && l.Contains(Path.GetFileNameWithoutExtension(written[0])));
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
