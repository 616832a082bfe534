using System.Text.Json;
using Mim4dd.Distill;
using Mim4dd.IO;
using Mim4dd.Runs;
using Mim4dd.Tests.Cli;
using Mim4dd.Tests.Interop;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

/// <summary>DATM (soft labels, the start-epoch window, the gate) and soft labels on MTT, on the tiny MNIST store.</summary>
public class DatmTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    // The tiny store has 3-epoch experts: the window grows from 1 to T⁺ = 2 over 2 iterations.
    private static readonly string[] DatmFlags =
    [
        "--method", "datm", "--preset", "datm-mnist-ipc10", "--max-start-epoch", "2", "--current-max-start-epoch", "1",
        "--expansion-iterations", "2", "--batch-syn", "10",
    ];

    private (int Code, string Stdout, string Stderr) Run(string outDir, params string[] extra) =>
        store.Distill(outDir, [.. DatmFlags, .. extra]);

    private static SyntheticSet Set(string run) => SyntheticSet.Load(new RunDirectory(run).Synthetic);

    private static JsonElement[] Metrics(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    [Fact]
    public void StartingSoftLabels_AreTheCorrectExpertsLogits_SoEachPointsAtItsClass()
    {
        var run = store.Dir.File("datm-start");
        var (code, stdout, stderr) = Run(run, "--iterations", "0");
        Assert.True(code == 0, stderr);
        Assert.Contains("soft labels: the logits of the experts' final checkpoints", stdout);
        Assert.DoesNotContain("no expert classifies correctly", stdout);   // --pix-init correct
        using var set = Set(run);
        Assert.NotNull(set.SoftLabels);
        Assert.Equal(new long[] { 20, 10 }, set.SoftLabels!.shape);
        // The mean of logit vectors that all peak at class c peaks at c.
        Assert.True(set.SoftLabels.argmax(1).equal(set.Labels).all().item<bool>());
    }

    [Fact]
    public void Datm_LearnsItsSoftLabels_SavesThemWithTheSet_AndEvaluatesWithThemOrWithHardLabels()
    {
        var start = store.Dir.File("datm-0");
        var run = store.Dir.File("datm-3");
        Assert.Equal(0, Run(start, "--iterations", "0").Code);
        var (code, stdout, stderr) = Run(run, "--iterations", "3", "--match-threshold", "100");
        Assert.True(code == 0, stderr);
        Assert.Contains("soft labels", stdout);   // the final evaluation says what it trains on
        using (var before = Set(start))
        using (var after = Set(run))
        {
            Assert.False(after.SoftLabels!.equal(before.SoftLabels!).all().item<bool>(), "the labels were learned");
            Assert.False(after.Images.equal(before.Images).all().item<bool>(), "the images were learned");
        }
        var evals = File.ReadAllLines(Path.Combine(run, "evals.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal("soft", evals[^1].GetProperty("labels").GetString());
        // The set's start epochs lie in the window: [0, 1) at iteration 0, [0, 2) after.
        Assert.Equal(0, Metrics(run)[0].GetProperty("start_epoch").GetInt32());

        (code, stdout, stderr) = CliTests.Run("eval", run, "--epochs", "2", "--repeats", "1", "--data-dir", store.DataDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("| ConvNet | soft |", stdout);
        (code, stdout, stderr) = CliTests.Run("eval", run, "--epochs", "2", "--repeats", "1", "--data-dir", store.DataDir,
            "--labels", "hard");
        Assert.True(code == 0, stderr);
        Assert.Contains("| ConvNet | hard |", stdout);
        Assert.Single(Directory.GetFiles(run, "eval-e2-*-hard.json"));   // the hard-label table is its own file
    }

    [Fact]
    public void TheGate_LeavesTheSetAsItWas_WhenTheMatchingLossIsAboveTheThreshold()
    {
        var start = store.Dir.File("gate-0");
        var run = store.Dir.File("gate-2");
        Assert.Equal(0, Run(start, "--iterations", "0").Code);
        var (code, _, stderr) = Run(run, "--iterations", "2", "--match-threshold", "1e-9");
        Assert.True(code == 0, stderr);
        Assert.All(Metrics(run), m => Assert.True(m.GetProperty("gated").GetBoolean()));
        using var before = Set(start);
        using var after = Set(run);
        Assert.True(after.Images.equal(before.Images).all().item<bool>());
        Assert.True(after.SoftLabels!.equal(before.SoftLabels!).all().item<bool>());
    }

    [Fact]
    public void AResumedRun_LearnsTheSameLabelsAndImages_AsAnUnbrokenOne()
    {
        // The checkpoint keeps the soft labels and their momentum: 2 iterations, then 1 more on --resume, equals 3 at once.
        var resumed = store.Dir.File("datm-resumed");
        var unbroken = store.Dir.File("datm-unbroken");
        Assert.Equal(0, Run(resumed, "--iterations", "2", "--match-threshold", "100").Code);
        var (code, _, stderr) = Run(resumed, "--iterations", "3", "--match-threshold", "100", "--resume");
        Assert.True(code == 0, stderr);
        Assert.Equal(0, Run(unbroken, "--iterations", "3", "--match-threshold", "100").Code);
        Assert.Equal(File.ReadAllBytes(new RunDirectory(unbroken).Synthetic), File.ReadAllBytes(new RunDirectory(resumed).Synthetic));
    }

    [Fact]
    public void DatmWithMimAtLambdaZero_GivesDatmsBytes()
    {
        var plain = store.Dir.File("datm-plain");
        var mim = store.Dir.File("datm-mim0");
        Assert.Equal(0, Run(plain, "--iterations", "2", "--match-threshold", "100").Code);
        var (code, _, stderr) = Run(mim, "--iterations", "2", "--match-threshold", "100", "--mim", "--lambda", "0");
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(new RunDirectory(plain).Synthetic), File.ReadAllBytes(new RunDirectory(mim).Synthetic));
        Assert.Contains("| datm-mim0 | datm | mnist |", CliTests.Run("compare", mim).Stdout);   // no add-on at λ = 0
    }

    [Fact]
    public void DatmWithMim_Runs_AndLearnsItsLabels()
    {
        var run = store.Dir.File("datm-mim");
        var start = store.Dir.File("datm-mim-start");
        Assert.Equal(0, Run(start, "--iterations", "0", "--mim").Code);
        var (code, _, stderr) = Run(run, "--iterations", "2", "--match-threshold", "100", "--mim", "--mim-warmup", "0",
            "--mim-grad-every", "1");
        Assert.True(code == 0, stderr);
        Assert.All(Metrics(run), m => Assert.True(m.GetProperty("extra_loss").GetDouble() > 0, "the MIM term is on"));
        using var before = Set(start);
        using var after = Set(run);
        Assert.False(after.SoftLabels!.equal(before.SoftLabels!).all().item<bool>(), "the labels were learned");

        // Named by method and add-on, in config.json and in compare, so that it is not a row of plain DATM; a record of an
        // older build names the method alone, and compare reads its add-on from the MIM options.
        var config = Path.Combine(run, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        Assert.Equal("datm+mim", (string?)json["distill"]!["method"]);
        Assert.Contains("| datm-mim | datm+mim | mnist |", CliTests.Run("compare", run).Stdout);
        json["distill"]!["method"] = "datm";
        File.WriteAllText(config, json.ToJsonString());
        Assert.Contains("| datm-mim | datm+mim | mnist |", CliTests.Run("compare", run).Stdout);
    }

    [Fact]
    public void MttWithSoftLabels_StartsFromRealImages_AndLearnsLabels()
    {
        var run = store.Dir.File("mtt-soft");
        var (code, stdout, stderr) = store.Distill(run, "--method", "mtt", "--soft-labels", "--lr-y", "5", "--iterations", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("soft labels", stdout);
        using var set = Set(run);
        Assert.Equal(new long[] { 20, 10 }, set.SoftLabels!.shape);
        var refused = store.Distill(store.Dir.File("mtt-lr-y"), "--method", "mtt", "--lr-y", "5", "--iterations", "1");
        Assert.Equal(2, refused.Code);
        Assert.Contains("--lr-y: is read only with soft labels", refused.Stderr);
    }

    [TorchFact]
    public void SoftLabelSet_RoundTripsThroughTorchLoad()
    {
        var run = store.Dir.File("datm-pt");
        Assert.Equal(0, Run(run, "--iterations", "1", "--match-threshold", "100").Code);
        var pt = Path.ChangeExtension(new RunDirectory(run).Synthetic, ".pt");
        PyTorch.Check("""
            import sys, torch
            d = torch.load(sys.argv[1])
            assert d["soft_labels"].shape == (20, 10) and d["soft_labels"].dtype == torch.float32, d["soft_labels"].shape
            torch.save(d["soft_labels"].clone(), sys.argv[2])
            """, pt, Path.Combine(run, "back.pt"));
        using var set = Set(run);
        using var back = (Tensor)TorchFile.Load(Path.Combine(run, "back.pt"))!;
        Assert.True(back.equal(set.SoftLabels!).all().item<bool>());
    }

    [Fact]
    public void Compare_GivesIorHlrAndLrs_FromTheRandomBaselineTheHardLabelEvalAndAFullDataRun()
    {
        var run = store.Dir.File("datm-lrs");
        var full = store.Dir.File("full-data");
        Assert.Equal(0, Run(run, "--iterations", "1", "--match-threshold", "100").Code);
        string[] protocol = ["--epochs", "3", "--repeats", "1", "--arch", TinyMnist.Arch, "--data-dir", store.DataDir];
        var (code, stdout, stderr) = CliTests.Run(["eval", run, "--random", .. protocol]);
        Assert.True(code == 0, stderr);
        Assert.Contains("random baseline: 2 real images per class (soft labels)", stdout);
        Assert.Equal(0, CliTests.Run(["eval", run, "--labels", "hard", .. protocol]).Code);
        (code, _, stderr) = CliTests.Run("train", "--dataset", "mnist", "--data-dir", store.DataDir, "--epochs", "1",
            "--arch", TinyMnist.Arch, "--out", full);
        Assert.True(code == 0, stderr);
        (code, stdout, stderr) = CliTests.Run("compare", run, full);
        Assert.True(code == 0, stderr);
        // RUN/random given beside RUN (as a glob over runs/*/ runs/*/random gives it) is not listed a second time.
        Assert.Equal(stdout, CliTests.Run("compare", run, Path.Combine(run, "random") + "/", full).Stdout);

        double Mean(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("results")[0]
            .GetProperty("Mean").GetDouble();
        var synAny = JsonDocument.Parse(File.ReadAllLines(Path.Combine(run, "evals.jsonl"))[^1]).RootElement
            .GetProperty("mean").GetDouble();
        var random = Mean(Directory.GetFiles(Path.Combine(run, "random"), "eval*.json").Single());
        var synHard = Mean(Directory.GetFiles(run, "eval-*-hard.json").Single());
        var real = JsonDocument.Parse(File.ReadAllText(Path.Combine(full, "results.json"))).RootElement.GetProperty("result")
            .GetProperty("TestAccuracy").GetDouble();
        var (ior, hlr) = (synAny - random, real - synHard);
        double alpha = 0.5 * ior - 0.5 * hlr;
        double lrs = (Math.Exp(alpha) - Math.Exp(-1)) / (Math.E - Math.Exp(-1));
        string F(double v, string format) => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        var row = stdout.Split('\n').Single(l => l.StartsWith("| datm-lrs | datm |") && l.Contains("final"));
        Assert.EndsWith($"| {F(ior, "+0.000;-0.000")} | {F(hlr, "+0.000;-0.000")} | {F(lrs, "F3")} |", row);
        Assert.Contains("| soft |", row);
        var fullRow = stdout.Split('\n').Single(l => l.StartsWith("| full-data | full data | mnist | all |"));
        Assert.Contains($"| {F(100 * real, "F2")} | 1 |", fullRow); // one training: no "± 0.00"
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith("| datm-lrs/random | random |") && l.Contains("| soft |"));
    }

    [Fact]
    public void ASoftLabelSet_ReadFromItsPtFile_EvaluatesOnItsLabels_AsItsRunDirectoryDoes()
    {
        var run = store.Dir.File("datm-pt-eval");
        var (code, _, stderr) = Run(run, "--iterations", "0");
        Assert.True(code == 0, stderr);
        string[] protocol = ["--epochs", "2", "--repeats", "1", "--arch", TinyMnist.Arch, "--data-dir", store.DataDir];
        (code, var ours, stderr) = CliTests.Run(["eval", run, .. protocol]);
        Assert.True(code == 0, stderr);
        var pt = Path.Combine(run, "syn.pt");
        var before = Directory.GetFiles(run).Length;
        (code, var theirs, stderr) = CliTests.Run(["eval", pt, "--experts", store.Experts, .. protocol]);
        Assert.True(code == 0, stderr);

        // The same images, soft labels and lr through syn.pt: the same net, the same accuracy.
        string Accuracy(string printed) => printed.Split('\n').Single(l => l.StartsWith($"| {TinyMnist.Arch} |")).Split('|')[3];
        Assert.Contains($"| {TinyMnist.Arch} | soft |", theirs);
        Assert.Equal(Accuracy(ours), Accuracy(theirs));
        Assert.Equal(before, Directory.GetFiles(run).Length);   // a set file keeps nothing beside it
        (code, _, stderr) = CliTests.Run(["eval", pt, .. protocol]);
        Assert.Equal(2, code);
        Assert.Contains("pass --experts STORE", stderr);
    }

    [Fact]
    public void Ior_IsLeftOutOfBestRows_AndANoteSaysWhenTheBaselineWasTrainedForOtherEpochs()
    {
        static RunRow Row(string run, string point, int epochs, double mean) =>
            new(run, "mtt", "cifar10", 1, "ConvNet", mean, 0, 5, point, 1, Epochs: epochs);
        RunRow[] rows =
        [
            Row("a", "final, it 300", 1000, 0.40), Row("a", "best, it 200", 1000, 0.41), Row("a/random", "final", 1000, 0.18),
            Row("b", "final, it 300", 1000, 0.39), Row("b/random", "final", 300, 0.17),
        ];

        var scored = LabelRobust.Apply(rows).ToList();

        Assert.Equal(0.22, scored[0].Robust!.Ior!.Value, 9);
        Assert.Null(scored[1].Robust);   // the best of several points, chosen on the test set
        Assert.Null(scored[3].Robust);
        var note = Assert.Single(LabelRobust.Notes(rows));
        Assert.StartsWith("b: its random baseline (ConvNet, hard labels) was trained for other epochs than its 1000", note);
        Assert.EndsWith("run `mim4dd eval b --random --epochs 1000`", note);
    }

    [Theory]
    [InlineData(2, 0, 1.0)]   // α = ½·IOR − ½·HLR = 1: the top of the scale
    [InlineData(0, 2, 0.0)]   // α = −1: the bottom
    [InlineData(0, 0, 0.2689414213699951)]   // α = 0: (1 − e⁻¹) / (e − e⁻¹)
    public void LabelRobustScore_MapsAlphaFromMinusOneToOneOntoZeroToOne(double ior, double hlr, double lrs) =>
        Assert.Equal(lrs, LabelRobust.Lrs(ior, hlr), 12);

    [Theory]
    [InlineData(0, 10, 1000, 20, 0, 10)]
    [InlineData(500, 10, 1000, 20, 0, 15)]
    [InlineData(1000, 10, 1000, 20, 0, 20)]
    [InlineData(5000, 10, 1000, 20, 0, 20)]
    public void TheWindowsUpperBound_GrowsLinearlyToMaxStartEpoch(int iteration, int current, int expansion, int max, int min, int upper)
    {
        var options = new MttOptions { MaxStartEpoch = max, Window = new StartEpochWindow(min, current, expansion) };
        Assert.Equal((min, upper), Datm.StartRange(options, iteration));
        Assert.Equal((0, max), Datm.StartRange(new MttOptions { MaxStartEpoch = max }, iteration));
    }

    [Fact]
    public void MttWithoutDatmOptions_HashesAsBefore()
    {
        // MTT's options serialise without the DATM fields, so old checkpoints keep their hash.
        var json = JsonSerializer.Serialize(new MttOptions());
        Assert.DoesNotContain("SoftLabels", json);
        Assert.DoesNotContain("Window", json);
        Assert.DoesNotContain("MatchThreshold", json);
    }
}
