using System.Text.Json;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class NonFiniteStepTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private static DistillState State() =>
        new(ones(2, 1, 2, 2).requires_grad_(), tensor(new long[] { 0, 1 }), tensor(0.01f), 0);

    [Fact]
    public void NonFiniteGradient_SkipsTheUpdate_AndTheNextFiniteOneApplies()
    {
        using var state = State();
        using var finite = full(new long[] { 2, 1, 2, 2 }, 0.5f);
        using var nan = finite.clone();
        nan[0, 0, 0, 0] = tensor(float.NaN);
        using var lrGrad = tensor(1f);

        Assert.True(ImageUpdate.Step(state, 0, 1.0, finite, lrImg: 1, addOn: null, lrGrad, lrLr: 0.001));
        using var afterFirst = state.Images.detach().clone();
        float lrAfterFirst = state.LearningRate.item<float>();

        Assert.False(ImageUpdate.Step(state, 1, 1.0, nan, lrImg: 1, addOn: null, lrGrad, lrLr: 0.001));
        Assert.True(state.Images.detach().equal(afterFirst).all().item<bool>(), "a skipped iteration leaves the images");
        Assert.Equal(lrAfterFirst, state.LearningRate.item<float>());
        Assert.Equal(2, state.Iteration);
        Assert.Equal(1, state.NonFiniteInARow);

        Assert.False(ImageUpdate.Step(state, 2, double.PositiveInfinity, finite, lrImg: 1, addOn: null, lrGrad, lrLr: 0.001));
        Assert.True(ImageUpdate.Step(state, 3, 1.0, finite, lrImg: 1, addOn: null, lrGrad, lrLr: 0.001));
        Assert.Equal(0, state.NonFiniteInARow);
        // Momentum continues from the last applied step: v = 0.5·0.5 + 0.5 = 0.75, image = 1 − 0.5 − 0.75.
        Assert.Equal(-0.25f, state.Images[0, 0, 0, 0].item<float>(), 6);
    }

    [Fact]
    public void NonFiniteGradientsInARow_StopTheRun()
    {
        using var state = State();
        using var nan = full(new long[] { 2, 1, 2, 2 }, float.NaN);
        for (int i = 0; i < ImageUpdate.MaxNonFiniteInARow - 1; i++) Assert.False(ImageUpdate.Step(state, i, 1.0, nan, 1, null));
        var e = Assert.Throws<RunFailedException>(() => ImageUpdate.Step(state, ImageUpdate.MaxNonFiniteInARow - 1, 1.0, nan, 1, null));
        Assert.Contains("in a row", e.Message);
        Assert.Contains("the image gradient has 8 of 8 values NaN/Inf", e.Message);
        Assert.Contains("--lr-img", e.Message);
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void RunThatDiverges_RecordsSkippedIterationsAsNull_AndExits1WithItsCheckpoint()
    {
        // lr_img 1e30 throws the images to ±1e30·g after the first step: every later loss is Inf/NaN.
        var run = store.Dir.File("dm-diverges");
        var (code, _, stderr) = CliTests.Run(["distill", .. CliTests.WithDefaults(
            ["--method", "dm", "--dataset", "mnist", "--data-dir", store.DataDir, "--ipc", "2", "--batch-real", "16",
             "--eval-every", "0", "--eval-repeats", "1", "--eval-epochs", "3", "--checkpoint-every", "1", "--out", run],
            ["--iterations", "20", "--lr-img", "1e30"])]);
        Assert.Equal(1, code);
        Assert.Contains("in a row", stderr);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.False(lines[0].GetProperty("skipped").GetBoolean());
        var skipped = lines.Where(l => l.GetProperty("skipped").GetBoolean()).ToList();
        Assert.Equal(ImageUpdate.MaxNonFiniteInARow - 1, skipped.Count);   // the last one stops the run before it is logged
        Assert.All(skipped, l => Assert.True(l.GetProperty("loss").ValueKind == JsonValueKind.Null
            || l.GetProperty("image_grad_norm").ValueKind == JsonValueKind.Null));
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "syn.safetensors")));
    }

    /// <summary>An add-on whose term is NaN from its first iteration: the matching term alone stays finite.</summary>
    private sealed class NanTerm : IAddOn
    {
        public Tensor Loss(Tensor final, Tensor target, Tensor synImages, Tensor synLabels, int iteration) =>
            synImages.sum().mul(final.sum()).mul(float.NaN);
        public void Step(DistillState state) { }
        public IReadOnlyDictionary<string, double> Diagnostics { get; } = new Dictionary<string, double>();
        public int WarmupIterations => 0;
        public bool ChecksGradient(int iteration) => false;
        public double Rebalance(double matchNorm, double termNorm) => 1;
    }

    private sealed class Silent : IDistillObserver
    {
        public void Iteration(IterationMetrics metrics, DistillState state) { }
    }

    [Fact]
    public void ARunStoppedByNonFiniteIterations_NamesTheTermThatMadeThem()
    {
        using var data = DatasetCatalog.Load("mnist", TestData.CacheDir, store.DataDir);
        var net = NetRegistry.Build(TinyMnist.Arch, new InputShape(1, 28, 28), 10);
        var experts = ExpertStore.LoadAll(store.Experts, net, "mnist");
        try
        {
            using var train = data.Train.Floats(data.Normalization);
            var options = new MttOptions { ImagesPerClass = 1, SynSteps = 2, ExpertEpochs = 1, MaxStartEpoch = 1, Iterations = 10,
                LrImg = 100 };
            using var state = Mtt.Initialize(data.Train, train, options);
            var e = Assert.Throws<RunFailedException>(() => Mtt.Run(net, experts, state, options, "mnist", new Silent(), new NanTerm()));
            Assert.Contains("without the MIM term is finite, so the MIM term made it", e.Message);
            Assert.Contains("lower --mim-balance", e.Message);
            Assert.Equal(ImageUpdate.MaxNonFiniteInARow - 1, state.Iteration);   // every skipped iteration counted, the stopping one not
        }
        finally
        {
            foreach (var expert in experts) expert.Dispose();
        }
    }
}
