using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Tests.Distill;

public class MimTests
{
    public MimTests() => TorchRuntime.Start();

    private static Tensor Labels(params long[] values) => tensor(values);

    private static Tensor Random(long[] shape, long stream) =>
        randn(shape, ScalarType.Float64, generator: Rng.Torch(21, stream));

    [Fact]
    public void PositiveMask_IsTrueExactlyWhereLabelsMatch()
    {
        using var scope = NewDisposeScope();
        var mask = Mim.PositiveMask(Labels(0, 1, 1), Labels(1, 0, 2, 1));
        var expected = tensor(new[,]
        {
            { false, true, false, false },
            { true, false, false, true },
            { true, false, false, true },
        });
        Assert.Equal(ScalarType.Bool, mask.dtype);
        Assert.True(mask.equal(expected).all().item<bool>());
    }

    [Theory]
    [InlineData(MimCritic.SupCon)]
    [InlineData(MimCritic.Bce)]
    public void Loss_WithIdentityHeads_EqualsTheFormulaByHand(MimCritic critic)
    {
        using var scope = NewDisposeScope();
        var options = new MimOptions { Temperature = 0.5, HeadDim = 2, Critic = critic };
        using var mim = new Mim(new[] { ("a", 2L), ("b", 2L) }, options, Rng.Torch(1), ScalarType.Float64);
        using (no_grad())
            for (int i = 0; i < mim.HeadParameters.Count; i += 2)
            {
                mim.HeadParameters[i].copy_(eye(2, dtype: ScalarType.Float64));
                mim.HeadParameters[i + 1].zero_();
            }
        // Unit embeddings: synthetic (1, 0), (0, 1); real (1, 0), (1, 1)/√2. Cosines: [[1, 1/√2], [0, 1/√2]].
        var syn = tensor(new double[,] { { 1, 0 }, { 0, 2 } });
        var real = tensor(new double[,] { { 3, 0 }, { 1, 1 } });
        double r = 1 / Math.Sqrt(2), tau = 0.5;
        static double LogSigmoid(double x) => -Math.Log(1 + Math.Exp(-x));
        // Positives (0,0) and (1,1), P = 2; negatives (0,1) and (1,0).
        double bce = -(LogSigmoid(1 / tau) + LogSigmoid(r / tau)) / 2 - (LogSigmoid(-r / tau) + LogSigmoid(-0.0 / tau)) / 2;
        // Each synthetic anchor's softmax over both real samples, at its one positive.
        double supCon = -((1 / tau - Math.Log(Math.Exp(1 / tau) + Math.Exp(r / tau))) + (r / tau - Math.Log(Math.Exp(0) + Math.Exp(r / tau)))) / 2;
        double perLayer = critic == MimCritic.SupCon ? supCon : bce;

        var loss = mim.Loss(new[] { syn, syn }, Labels(0, 1), new[] { real, real }, Labels(0, 1)).item<double>();

        Assert.Equal(2 * perLayer, loss, 1e-12);
    }

    [Theory]
    [InlineData(MimCritic.SupCon)]
    [InlineData(MimCritic.Bce)]
    public void Gradients_MatchCentralDifferencesInFloat64(MimCritic critic)
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(new[] { ("a", 8L), ("b", 6L) }, new MimOptions { HeadDim = 4, Critic = critic }, Rng.Torch(2), ScalarType.Float64);
        var synLabels = Labels(0, 1, 2);
        var realLabels = Labels(0, 1, 1, 2, 0);
        var syn = new[] { Random(new long[] { 3, 2, 2, 2 }, 1).requires_grad_(), Random(new long[] { 3, 6 }, 2).requires_grad_() };
        var real = new[] { Random(new long[] { 5, 2, 2, 2 }, 3), Random(new long[] { 5, 6 }, 4) };
        var inputs = syn.Concat(mim.HeadParameters).ToList();

        var analytic = autograd.grad(new[] { mim.Loss(syn, synLabels, real, realLabels) }, inputs);

        double Evaluate()
        {
            using var noGrad = no_grad();
            return mim.Loss(syn, synLabels, real, realLabels).item<double>();
        }
        for (int i = 0; i < inputs.Count; i++)
        {
            var numeric = CentralDifferences(Evaluate, inputs[i], eps: 1e-6);
            double error = (analytic[i] - numeric).norm().item<double>() / numeric.norm().item<double>();
            Assert.True(error < 1e-6, $"input {i}: relative error {error:E2}");
        }
    }

    private static Tensor CentralDifferences(Func<double> evaluate, Tensor input, double eps)
    {
        var values = input.detach().view(-1);   // shares storage with the input
        var gradient = new double[values.shape[0]];
        for (long j = 0; j < values.shape[0]; j++)
        {
            double original = values[j].item<double>();
            values[j].fill_(original + eps);
            double plus = evaluate();
            values[j].fill_(original - eps);
            double minus = evaluate();
            values[j].fill_(original);
            gradient[j] = (plus - minus) / (2 * eps);
        }
        return tensor(gradient).view(input.shape);
    }

    [Theory]
    [InlineData(MimCritic.SupCon)]
    [InlineData(MimCritic.Bce)]
    public void TrainingFeaturesAndHeads_PullsEachSyntheticSampleToItsRealClass(MimCritic critic)
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(new[] { ("a", 16L) }, new MimOptions { HeadDim = 8, HeadLearningRate = 0.05, Critic = critic }, Rng.Torch(3), ScalarType.Float64);
        var realLabels = arange(3).repeat_interleave(8);                   // 8 real samples per class
        var synLabels = Labels(0, 0, 1, 1, 2, 2);
        var centres = Random(new long[] { 3, 16 }, 5).mul(3);
        var real = new[] { centres.index_select(0, realLabels).add(Random(new long[] { 24, 16 }, 6).mul(0.5)) };
        var syn = Random(new long[] { 6, 16 }, 7).requires_grad_();
        var inputs = new[] { syn }.Concat(mim.HeadParameters).ToList();

        double Loss() { using var noGrad = no_grad(); return mim.Loss(new[] { syn }, synLabels, real, realLabels).item<double>(); }
        double initial = Loss();
        for (int step = 0; step < 40; step++)
        {
            using var stepScope = NewDisposeScope();
            var gradients = autograd.grad(new[] { mim.Loss(new[] { syn }, synLabels, real, realLabels) }, inputs);
            using (no_grad()) syn.add_(gradients[0], alpha: -0.1);
            mim.StepHeads(gradients.Skip(1).ToList());
        }
        double final = Loss();

        // SupCon cannot go below ln 8: each anchor spreads its softmax over 8 equally good positives.
        double floor = critic == MimCritic.SupCon ? Math.Log(8) : 0;
        Assert.True(final - floor < 0.5 * (initial - floor), $"loss {initial:F4} → {final:F4} (floor {floor:F4})");
        using var noGrad = no_grad();
        var heads = mim.HeadParameters;
        var similarities = F.normalize(F.linear(syn, heads[0], heads[1]), p: 2, dim: 1)
            .mm(F.normalize(F.linear(real[0], heads[2], heads[3]), p: 2, dim: 1).t());     // [6, 24]
        var classMeans = similarities.mm(F.one_hot(realLabels, 3).to_type(ScalarType.Float64)).div(8);  // [6, 3]
        Assert.True(classMeans.argmax(1).equal(synLabels).all().item<bool>(), $"class means {classMeans.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }

    [Fact]
    public void StepHeads_IsSgdWithMomentumHalf()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(new[] { ("a", 3L) }, new MimOptions { HeadDim = 2, HeadLearningRate = 0.1 }, Rng.Torch(4), ScalarType.Float64);
        var before = mim.HeadParameters.Select(p => p.detach().clone()).ToList();
        var gradients = mim.HeadParameters.Select((p, i) => full_like(p, i + 1.0)).ToList();

        mim.StepHeads(gradients);
        mim.StepHeads(gradients);

        // v1 = g, v2 = 0.5·g + g: p2 = p0 − 0.1·g − 0.1·1.5·g = p0 − 0.25·g.
        for (int i = 0; i < before.Count; i++)
            Assert.True(mim.HeadParameters[i].allclose(before[i] - 0.25 * gradients[i], rtol: 0, atol: 1e-15), $"head tensor {i}");
        Assert.All(mim.HeadParameters, p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Heads_AreDeterministicForAGeneratorSeedAndBoundedByFanIn()
    {
        using var scope = NewDisposeScope();
        var layers = new[] { ("a", 16L), ("b", 9L) };
        using var first = new Mim(layers, new MimOptions { HeadDim = 5 }, Rng.Torch(11, 4));
        using var same = new Mim(layers, new MimOptions { HeadDim = 5 }, Rng.Torch(11, 4));
        using var other = new Mim(layers, new MimOptions { HeadDim = 5 }, Rng.Torch(12, 4));

        Assert.Equal(8, first.HeadParameters.Count);
        for (int i = 0; i < first.HeadParameters.Count; i++)
        {
            Assert.True(first.HeadParameters[i].equal(same.HeadParameters[i]).all().item<bool>(), $"head tensor {i} differs for one seed");
            Assert.False(first.HeadParameters[i].equal(other.HeadParameters[i]).all().item<bool>(), $"head tensor {i} equal across seeds");
            double bound = 1 / Math.Sqrt(i < 4 ? 16 : 9);
            Assert.True(first.HeadParameters[i].abs().max().item<float>() <= bound);
        }
        Assert.Equal(new long[] { 5, 16 }, first.HeadParameters[0].shape);
        Assert.Equal(new long[] { 5 }, first.HeadParameters[3].shape);
    }

    [Theory]
    [InlineData(-0.1, 0.1, 128, "--lambda")]
    [InlineData(0.1, 0.0, 128, "--tau")]
    [InlineData(0.1, -1.0, 128, "--tau")]
    [InlineData(0.1, double.NaN, 128, "--tau")]
    [InlineData(0.1, 0.1, 0, "--head-dim")]
    public void Validate_NamesTheBadOption(double lambda, double tau, int headDim, string option)
    {
        var options = new MimOptions { Lambda = lambda, Temperature = tau, HeadDim = headDim };
        var error = Assert.Throws<UserError>(options.Validate);
        Assert.StartsWith(option + ":", error.Message);
        Assert.Throws<UserError>(() => new Mim(new[] { ("a", 4L) }, options, Rng.Torch(0)));
    }

    [Fact]
    public void Validate_RejectsNegativeHeadLearningRateAndAnEmptyLayerList()
    {
        Assert.StartsWith("--head-lr:", Assert.Throws<UserError>(new MimOptions { HeadLearningRate = -1 }.Validate).Message);
        Assert.StartsWith("--mim-layers:", Assert.Throws<UserError>(new MimOptions { Layers = Array.Empty<string>() }.Validate).Message);
        new MimOptions { Lambda = 0 }.Validate();
        Assert.False(new MimOptions { Lambda = 0 }.Enabled);
    }

    [Fact]
    public void Loss_WithoutAPositivePair_ThrowsUserError()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(new[] { ("a", 4L) }, new MimOptions { HeadDim = 3 }, Rng.Torch(5), ScalarType.Float64);
        var error = Assert.Throws<UserError>(() =>
            mim.Loss(new[] { Random(new long[] { 2, 4 }, 1) }, Labels(0, 1), new[] { Random(new long[] { 3, 4 }, 2) }, Labels(2, 3, 2)));
        Assert.Contains("shares a label", error.Message);
    }

    [Fact]
    public void Loss_WithMismatchedShapes_NamesTheProblem()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(new[] { ("a", 4L), ("b", 2L) }, new MimOptions { HeadDim = 3 }, Rng.Torch(6), ScalarType.Float64);
        var syn = new[] { Random(new long[] { 2, 4 }, 1), Random(new long[] { 2, 2 }, 2) };
        var real = new[] { Random(new long[] { 3, 4 }, 3), Random(new long[] { 3, 2 }, 4) };
        var synLabels = Labels(0, 1);
        var realLabels = Labels(0, 1, 1);

        Assert.Contains("for 2 MIM layers", Assert.Throws<ArgumentException>(() => mim.Loss(syn.Take(1).ToList(), synLabels, real, realLabels)).Message);
        Assert.Contains("3 synthetic labels", Assert.Throws<ArgumentException>(() => mim.Loss(syn, Labels(0, 1, 2), real, realLabels)).Message);
        Assert.Contains("head expects 4", Assert.Throws<ArgumentException>(() => mim.Loss(syn, synLabels, new[] { real[1], real[1] }, realLabels)).Message);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => mim.Loss(syn, synLabels, real.Select(r => r.to_type(ScalarType.Float32)).ToList(), realLabels)).Message);
    }

    [Theory]
    [InlineData("ConvNet")]
    [InlineData("ConvNetBN")]
    public void LayerSizes_AreTheConvNetBlockOutputs_AndLayersSelectsAmongThem(string name)
    {
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build(name, new InputShape(1, 28, 28), 10);
        using var weights = net.Initialize(Rng.Torch(8));

        var sizes = Mim.LayerSizes(net, weights.Parameters, new InputShape(1, 28, 28));

        Assert.Equal(new[] { ("block0", 128L * 16 * 16), ("block1", 128L * 8 * 8), ("block2", 128L * 4 * 4) }, sizes);
        using var mim = new Mim(sizes, new MimOptions { HeadDim = 2, Layers = new[] { "block2", "block0" } }, Rng.Torch(9));
        Assert.Equal(new[] { "block2", "block0" }, mim.Layers);
        Assert.Equal(new long[] { 2, 128 * 4 * 4 }, mim.HeadParameters[0].shape);

        var tap = new FeatureTap();
        using (no_grad())
            net.Forward(weights, zeros(2, 1, 28, 28), training: false, tap);
        var features = mim.FeaturesOf(tap);
        Assert.Equal(new long[] { 2, 128, 4, 4 }, features[0].shape);
        Assert.Equal(new long[] { 2, 128, 16, 16 }, features[1].shape);

        var error = Assert.Throws<UserError>(() => new Mim(sizes, new MimOptions { Layers = new[] { "block9" } }, Rng.Torch(9)));
        Assert.Contains("block0, block1, block2", error.Message);
    }
}
