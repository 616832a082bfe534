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

    /// <summary>Layers of flat feature vectors: shape [d].</summary>
    private static (string, long[])[] Flat(params (string Name, long Size)[] layers) =>
        layers.Select(l => (l.Name, new[] { l.Size })).ToArray();

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

    /// <summary>Each column standardised over the rows (population variance, ε 1e-5), rows L2-normalised: what the heads see, by
    /// hand.</summary>
    private static double[][] StandardisedUnitRows(double[][] rows)
    {
        int n = rows.Length, d = rows[0].Length;
        var result = rows.Select(r => (double[])r.Clone()).ToArray();
        for (int j = 0; j < d; j++)
        {
            double mean = rows.Average(r => r[j]);
            double variance = rows.Average(r => (r[j] - mean) * (r[j] - mean));
            for (int i = 0; i < n; i++) result[i][j] = (rows[i][j] - mean) / Math.Sqrt(variance + 1e-5);
        }
        return result.Select(r => { double norm = Math.Sqrt(r.Sum(v => v * v)); return r.Select(v => v / norm).ToArray(); }).ToArray();
    }

    private static void IdentityHeads(Mim mim)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < mim.HeadParameters.Count; i += 2)
        {
            mim.HeadParameters[i].copy_(eye(mim.HeadParameters[i].shape[0], dtype: ScalarType.Float64));
            mim.HeadParameters[i + 1].zero_();
        }
    }

    /// <summary>Heads that map every sample to one point, so every pair is scored alike.</summary>
    private static void AllAlikeHeads(Mim mim)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < mim.HeadParameters.Count; i += 2) { mim.HeadParameters[i].zero_(); mim.HeadParameters[i + 1].fill_(1.0); }
    }

    private static Tensor Rows(double[][] rows) => tensor(rows.SelectMany(x => x).ToArray()).view(rows.Length, rows[0].Length);

    /// <summary>SupCon by hand: per synthetic row, −ln softmax over the other side's rows averaged at its positives.</summary>
    private static double SupConByHand(double[][] syn, double[][] others, long[] synLabels, long[] otherLabels, double tau)
    {
        double sum = 0;
        for (int i = 0; i < syn.Length; i++)
        {
            var scores = others.Select(b => syn[i].Zip(b, (x, y) => x * y).Sum() / tau).ToArray();
            double logNorm = Math.Log(scores.Sum(Math.Exp));
            sum += -Enumerable.Range(0, others.Length).Where(j => otherLabels[j] == synLabels[i]).Average(j => scores[j] - logNorm);
        }
        return sum / syn.Length;
    }

    [Theory]
    [InlineData(MimCritic.SupCon)]
    [InlineData(MimCritic.Nce)]
    public void Loss_WithIdentityHeads_EqualsTheFormulaByHand(MimCritic critic)
    {
        using var scope = NewDisposeScope();
        const double tau = 0.5;
        var options = new MimOptions { Temperature = tau, HeadDim = 2, Critic = critic, Features = MimFeatures.Flat };
        using var mim = new Mim(Flat(("a", 2L)), options.Estimator, Rng.Torch(1), ScalarType.Float64);
        IdentityHeads(mim);
        double[][] syn = { new[] { 1.0, 0.3 }, new[] { -0.5, 2.0 }, new[] { 0.2, -1.0 } };
        double[][] real = { new[] { 3.0, 0.1 }, new[] { 1.0, 1.0 }, new[] { -2.0, 0.5 }, new[] { 0.4, -0.7 } };
        long[] synLabels = { 0, 1, 1 }, realLabels = { 0, 1, 0, 1 };
        var s = StandardisedUnitRows(syn);
        var r = StandardisedUnitRows(real);
        var scores = s.Select(a => r.Select(b => (a[0] * b[0] + a[1] * b[1]) / tau).ToArray()).ToArray();
        static double LogSigmoid(double x) => -Math.Log(1 + Math.Exp(-x));
        double expected;
        if (critic == MimCritic.Nce)
        {
            // 6 positive and 6 negative pairs: m = 1; Z̄ = mean e^{s/τ} of this first call.
            double logZ = Math.Log(scores.SelectMany(x => x).Average(Math.Exp));
            double sum = 0;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++)
                    sum += synLabels[i] == realLabels[j] ? -LogSigmoid(scores[i][j] - logZ) : -LogSigmoid(-(scores[i][j] - logZ));
            expected = sum / 6;
        }
        else expected = SupConByHand(s, r, synLabels, realLabels, tau);

        var loss = mim.Loss(new[] { Rows(syn) }, tensor(synLabels), new[] { Rows(real) }, tensor(realLabels)).item<double>();

        Assert.Equal(expected, loss, 1e-9);
        Assert.Equal(expected, mim.Readings[0].Loss, 1e-9);
        Assert.Equal(critic == MimCritic.Nce ? -expected : Math.Log(4) - expected, mim.Readings[0].Bound, 1e-9);
    }

    [Fact]
    public void NceCritic_AtTheAllAlikePlateau_BoundsNoInformation()
    {
        // Heads that map every sample to one point score every pair alike: with the prior built in, h = 1/(m+1)
        // for every pair, the loss is ln(m+1) + m·ln((m+1)/m) (3.251 at m = 9) and the bound ln m − L is below 0.
        using var scope = NewDisposeScope();
        using var mim = new Mim(Flat(("a", 4L)), new MimOptions { HeadDim = 3, Features = MimFeatures.Flat }.Estimator, Rng.Torch(5),
            ScalarType.Float64);
        AllAlikeHeads(mim);
        var synLabels = arange(10);
        var realLabels = arange(10).repeat(3);

        mim.Loss(new[] { Random(new long[] { 10, 4 }, 1) }, synLabels, new[] { Random(new long[] { 30, 4 }, 2) }, realLabels);

        double m = 9, plateau = Math.Log(m + 1) + m * Math.Log((m + 1) / m);
        Assert.Equal(3.251, plateau, 3);
        Assert.Equal(plateau, mim.Readings[0].Loss, 9);
        Assert.True(mim.Readings[0].Bound < 0);
    }

    [Fact]
    public void SymmetricSupCon_AtChance_BoundsNoInformation()
    {
        // Each direction's loss at chance is ln of its softmax's size (30 real, 10 synthetic): the bound's ceiling is their
        // mean, so an all-alike critic reads 0 nats, not ½·ln(30/10).
        using var scope = NewDisposeScope();
        var options = new MimOptions { HeadDim = 3, Features = MimFeatures.Flat, Critic = MimCritic.SupCon, Symmetric = true };
        using var mim = new Mim(Flat(("a", 4L)), options.Estimator, Rng.Torch(5), ScalarType.Float64);
        AllAlikeHeads(mim);

        mim.Loss(new[] { Random(new long[] { 10, 4 }, 1) }, arange(10), new[] { Random(new long[] { 30, 4 }, 2) }, arange(10).repeat(3));

        Assert.Equal((Math.Log(30) + Math.Log(10)) / 2, mim.Readings[0].Loss, 9);
        Assert.Equal(0, mim.Readings[0].Bound, 9);
    }

    private static double[] UnitMix(double[] old, double[] fresh, double mu)
    {
        var mixed = old.Zip(fresh, (o, f) => mu * o + (1 - mu) * f).ToArray();
        double norm = Math.Sqrt(mixed.Sum(v => v * v));
        return mixed.Select(v => v / norm).ToArray();
    }

    [Fact]
    public void Memory_KeepsTheLastImagesOfEachClass_UpdatesAnImageItHoldsWithMomentum_AndIsScoredWithTheRealBatch()
    {
        using var scope = NewDisposeScope();
        const double tau = 0.5, mu = 0.25;
        MimOptions Options(MimCritic critic) => new()
        {
            Temperature = tau, HeadDim = 2, Critic = critic, Features = MimFeatures.Flat, BankSize = 2, BankMomentum = mu,
        };
        using var mim = new Mim(Flat(("a", 2L)), Options(MimCritic.SupCon).Estimator, Rng.Torch(1), ScalarType.Float64, classes: 2);
        using var nce = new Mim(Flat(("a", 2L)), Options(MimCritic.Nce).Estimator, Rng.Torch(1), ScalarType.Float64, classes: 2);
        double[][] first = { new[] { 1.0, 0.3 }, new[] { -0.5, 2.0 }, new[] { 0.2, -1.0 }, new[] { 3.0, 0.1 } };
        double[][] second = { new[] { 0.5, 0.5 }, new[] { -1.0, 1.5 }, new[] { 2.0, -0.3 } };
        foreach (var m in new[] { mim, nce })
        {
            IdentityHeads(m);
            // Class 0's ring of 2 takes images 5 and 6, then 7 replaces 5; class 1's takes 9. Then 6 and 9 come again
            // (momentum updates) and 4, new, takes class 1's second slot.
            m.Remember(new[] { Rows(first) }, Labels(0, 0, 0, 1), Labels(5, 6, 7, 9));
            m.Remember(new[] { Rows(second) }, Labels(0, 1, 1), Labels(6, 9, 4));
        }
        var e1 = StandardisedUnitRows(first);
        var e2 = StandardisedUnitRows(second);
        double[][] memory = { e1[2], UnitMix(e1[1], e2[0], mu), UnitMix(e1[3], e2[1], mu), e2[2] };
        double[][] syn = { new[] { 0.7, -0.2 }, new[] { -1.5, 0.4 }, new[] { 0.3, 1.1 } };
        double[][] real = { new[] { 2.0, 1.0 }, new[] { -1.0, 0.5 } };
        long[] synLabels = { 0, 1, 1 }, realLabels = { 0, 0 };

        double loss = mim.Loss(new[] { Rows(syn) }, tensor(synLabels), new[] { Rows(real) }, tensor(realLabels)).item<double>();

        var others = StandardisedUnitRows(real).Concat(memory).ToArray();
        double expected = SupConByHand(StandardisedUnitRows(syn), others, synLabels, new long[] { 0, 0, 0, 0, 1, 1 }, tau);
        Assert.Equal(expected, loss, 1e-9);
        Assert.Equal(Math.Log(6) - expected, mim.Readings[0].Bound, 1e-9);
        // The binary critic counts the memory's pairs in m: 8 positive and 10 negative pairs of 3 × 6.
        nce.Loss(new[] { Rows(syn) }, tensor(synLabels), new[] { Rows(real) }, tensor(realLabels));
        Assert.Equal(Math.Log(10.0 / 8), nce.Readings[0].Bound + nce.Readings[0].Loss, 9);
        Assert.Throws<ArgumentException>(() => mim.Remember(new[] { Rows(real) }, Labels(0, 2), Labels(1, 2)));
        Assert.Throws<ArgumentException>(() => new Mim(Flat(("a", 2L)), Options(MimCritic.Nce).Estimator, Rng.Torch(1), ScalarType.Float64));
    }

    [Theory]
    [InlineData(MimCritic.SupCon, true, 0, false)]
    [InlineData(MimCritic.Nce, false, 5, true)]
    public void Gradients_MatchCentralDifferencesInFloat64(MimCritic critic, bool symmetric, int hidden, bool shared)
    {
        using var scope = NewDisposeScope();
        var options = new MimOptions { HeadDim = 4, Critic = critic, Symmetric = symmetric, HeadHidden = hidden, SharedHeads = shared };
        using var mim = new Mim(new[] { ("a", new long[] { 2, 2, 2 }), ("b", new long[] { 6 }) }, options.Estimator, Rng.Torch(2),
            ScalarType.Float64);
        var synLabels = Labels(0, 1, 2);
        var realLabels = Labels(0, 1, 1, 2, 0);
        var syn = new[] { Random(new long[] { 3, 2, 2, 2 }, 1).requires_grad_(), Random(new long[] { 3, 6 }, 2).requires_grad_() };
        var real = new[] { Random(new long[] { 5, 2, 2, 2 }, 3), Random(new long[] { 5, 6 }, 4) };
        var inputs = syn.Concat(mim.HeadParameters).ToList();
        using (no_grad()) mim.Loss(syn, synLabels, real, realLabels);   // fixes Z̄, so every later call is the same function

        var analytic = autograd.grad(new[] { mim.Loss(syn, synLabels, real, realLabels) }, inputs);

        double Evaluate()
        {
            using var noGrad = no_grad();
            return mim.Loss(syn, synLabels, real, realLabels).item<double>();
        }
        for (int i = 0; i < inputs.Count; i++)
        {
            var numeric = CentralDifferences(Evaluate, inputs[i], eps: 1e-6);
            double error = (analytic[i] - numeric).norm().item<double>() / Math.Max(1e-12, numeric.norm().item<double>());
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

    [Fact]
    public void AdamStep_IsPyTorchsAdam()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(Flat(("a", 3L)), new MimOptions { HeadDim = 2, HeadLearningRate = 0.1 }.Estimator, Rng.Torch(4),
            ScalarType.Float64);
        var before = mim.HeadParameters.Select(p => p.detach().clone()).ToList();
        var g1 = mim.HeadParameters.Select((p, i) => full_like(p, i + 1.0)).ToList();
        var g2 = mim.HeadParameters.Select((p, i) => full_like(p, -0.5 * (i + 1))).ToList();

        mim.AdamStep(g1);
        mim.AdamStep(g2);

        // By hand for one element with gradients a then b: m̂, v̂ bias-corrected, p −= lr·m̂/(√v̂ + ε) each step.
        for (int i = 0; i < before.Count; i++)
        {
            double a = i + 1.0, b = -0.5 * (i + 1), p = 0;
            double m1 = 0.1 * a, v1 = 0.001 * a * a;
            p -= 0.1 * (m1 / 0.1) / (Math.Sqrt(v1 / 0.001) + 1e-8);
            double m2 = 0.9 * m1 + 0.1 * b, v2 = 0.999 * v1 + 0.001 * b * b;
            p -= 0.1 * (m2 / (1 - 0.81)) / (Math.Sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
            Assert.True(mim.HeadParameters[i].allclose(before[i] + p, rtol: 0, atol: 1e-12), $"head tensor {i}");
        }
        Assert.All(mim.HeadParameters, t => Assert.True(t.requires_grad));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void State_RestoredIntoFreshHeads_ContinuesIdentically(int bankSize)
    {
        using var scope = NewDisposeScope();
        var options = new MimOptions { HeadDim = 3, HeadSteps = 2, Features = MimFeatures.Flat, BankSize = bankSize };
        using var first = new Mim(Flat(("a", 4L)), options.Estimator, Rng.Torch(7), ScalarType.Float64, classes: 4);
        using var second = new Mim(Flat(("a", 4L)), options.Estimator, Rng.Torch(8), ScalarType.Float64, classes: 4);
        var syn = new[] { Random(new long[] { 4, 4 }, 1) };
        var real = new[] { Random(new long[] { 8, 4 }, 2) };
        var synLabels = Labels(0, 1, 2, 3);
        var realLabels = arange(4).repeat(2);
        first.TrainHeads(syn, synLabels, real, realLabels);
        first.Remember(real, realLabels, arange(8));

        var saved = first.State().ToDictionary(s => s.Name, s => s.Value.clone());
        Assert.Equal(bankSize > 0, saved.ContainsKey("bank.writes"));
        second.Restore(name => saved.GetValueOrDefault(name));
        foreach (var mim in new[] { first, second })
        {
            mim.Remember(real, realLabels, arange(8).add(4));   // images 4–7 again (momentum), 8–11 new (the rings of 2 wrap)
            mim.TrainHeads(syn, synLabels, real, realLabels);
        }
        var a = first.State().ToList();
        var b = second.State().ToList();
        Assert.Equal(a.Select(s => s.Name), b.Select(s => s.Name));
        for (int i = 0; i < a.Count; i++) Assert.True(a[i].Value.equal(b[i].Value).all().item<bool>(), a[i].Name);

        for (int i = 0; i < first.HeadParameters.Count; i++)
            Assert.True(first.HeadParameters[i].equal(second.HeadParameters[i]).all().item<bool>(), $"head tensor {i}");
        Assert.Equal(first.Readings[0].Loss, second.Readings[0].Loss);
        Assert.Contains("lacks MIM state", Assert.Throws<UserError>(() => second.Restore(_ => null)).Message);
    }

    [Fact]
    public void Heads_AreDeterministicForAGeneratorSeedAndBoundedByFanIn()
    {
        using var scope = NewDisposeScope();
        var layers = Flat(("a", 16L), ("b", 9L));
        using var first = new Mim(layers, new MimOptions { HeadDim = 5 }.Estimator, Rng.Torch(11, 4));
        using var same = new Mim(layers, new MimOptions { HeadDim = 5 }.Estimator, Rng.Torch(11, 4));
        using var other = new Mim(layers, new MimOptions { HeadDim = 5 }.Estimator, Rng.Torch(12, 4));

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
        // The estimator refuses its own options; λ is the add-on's, which the estimator never sees.
        if (option != "--lambda") Assert.Throws<UserError>(() => new Mim(Flat(("a", 4L)), options.Estimator, Rng.Torch(0)));
    }

    [Fact]
    public void Validate_RejectsNegativeHeadLearningRateAndAnEmptyLayerList()
    {
        Assert.StartsWith("--head-lr:", Assert.Throws<UserError>(new MimOptions { HeadLearningRate = -1 }.Validate).Message);
        Assert.StartsWith("--mim-layers:", Assert.Throws<UserError>(new MimOptions { Layers = Array.Empty<string>() }.Validate).Message);
        Assert.StartsWith("--head-steps:", Assert.Throws<UserError>(new MimOptions { HeadSteps = -1 }.Validate).Message);
        Assert.StartsWith("--head-hidden:", Assert.Throws<UserError>(new MimOptions { HeadHidden = -1 }.Validate).Message);
        var balanceWithoutChecks = Assert.Throws<UserError>(new MimOptions { GradientCheckEvery = 0 }.Validate).Message;
        Assert.StartsWith("--mim-grad-every:", balanceWithoutChecks);
        Assert.Contains("--mim-balance 0 ", balanceWithoutChecks);
        new MimOptions { GradientCheckEvery = 0, Balance = 0 }.Validate();
        Assert.StartsWith("--mim-symmetric:", Assert.Throws<UserError>(new MimOptions { Symmetric = true }.Validate).Message);
        new MimOptions { Symmetric = true, Critic = MimCritic.SupCon }.Validate();
        Assert.StartsWith("--mim-bank:", Assert.Throws<UserError>(new MimOptions { BankSize = -1 }.Validate).Message);
        Assert.StartsWith("--mim-bank-momentum:", Assert.Throws<UserError>(new MimOptions { BankSize = 1, BankMomentum = 1 }.Validate)
            .Message);
        Assert.Contains("only with a memory", Assert.Throws<UserError>(new MimOptions { BankMomentum = 0.5 }.Validate).Message);
        new MimOptions { Lambda = 0 }.Validate();
        Assert.False(new MimOptions { Lambda = 0 }.Enabled);
    }

    [Fact]
    public void Loss_WithoutAPositivePair_ThrowsUserError()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(Flat(("a", 4L)), new MimOptions { HeadDim = 3 }.Estimator, Rng.Torch(5), ScalarType.Float64);
        var error = Assert.Throws<UserError>(() =>
            mim.Loss(new[] { Random(new long[] { 2, 4 }, 1) }, Labels(0, 1), new[] { Random(new long[] { 3, 4 }, 2) }, Labels(2, 3, 2)));
        Assert.Contains("shares a label", error.Message);
    }

    [Fact]
    public void Loss_WithMismatchedShapes_NamesTheProblem()
    {
        using var scope = NewDisposeScope();
        using var mim = new Mim(Flat(("a", 4L), ("b", 2L)), new MimOptions { HeadDim = 3 }.Estimator, Rng.Torch(6), ScalarType.Float64);
        var syn = new[] { Random(new long[] { 2, 4 }, 1), Random(new long[] { 2, 2 }, 2) };
        var real = new[] { Random(new long[] { 3, 4 }, 3), Random(new long[] { 3, 2 }, 4) };
        var synLabels = Labels(0, 1);
        var realLabels = Labels(0, 1, 1);

        Assert.Contains("for 2 MIM layers",
            Assert.Throws<ArgumentException>(() => mim.Loss(syn.Take(1).ToList(), synLabels, real, realLabels)).Message);
        Assert.Contains("3 synthetic labels",
            Assert.Throws<ArgumentException>(() => mim.Loss(syn, Labels(0, 1, 2), real, realLabels)).Message);
        Assert.Contains("head expects 4",
            Assert.Throws<ArgumentException>(() => mim.Loss(syn, synLabels, new[] { real[1], real[1] }, realLabels)).Message);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() =>
            mim.Loss(syn, synLabels, real.Select(r => r.to_type(ScalarType.Float32)).ToList(), realLabels)).Message);
    }

    [Theory]
    [InlineData("ConvNet")]
    [InlineData("ConvNetBN")]
    public void LayerShapes_AreTheConvNetBlockOutputs_AndLayersSelectsAmongThem(string name)
    {
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build(name, new InputShape(1, 28, 28), 10);
        using var weights = net.Initialize(Rng.Torch(8));

        var sizes = Mim.LayerShapes(net, weights.Parameters, new InputShape(1, 28, 28));

        Assert.Equal(new[] { "block0", "block1", "block2" }, sizes.Select(s => s.Name));
        Assert.Equal(new long[] { 128, 16, 16 }, sizes[0].Shape);
        Assert.Equal(new long[] { 128, 4, 4 }, sizes[2].Shape);
        using var mim = new Mim(sizes, new MimOptions { HeadDim = 2, Layers = new[] { "block2", "block0" } }.Estimator, Rng.Torch(9));
        Assert.Equal(new[] { "block2", "block0" }, mim.Layers);
        Assert.Equal(new long[] { 2, 128 }, mim.HeadParameters[0].shape);   // pooled: one value per channel
        using var flat = new Mim(sizes, new MimOptions { HeadDim = 2, Features = MimFeatures.Flat, Layers = new[] { "block2" } }.Estimator,
            Rng.Torch(9));
        Assert.Equal(new long[] { 2, 128 * 4 * 4 }, flat.HeadParameters[0].shape);

        var tap = new FeatureTap();
        using (no_grad())
            net.Forward(weights, zeros(2, 1, 28, 28), training: false, tap);
        var features = mim.FeaturesOf(tap);
        Assert.Equal(new long[] { 2, 128, 4, 4 }, features[0].shape);
        Assert.Equal(new long[] { 2, 128, 16, 16 }, features[1].shape);

        var error = Assert.Throws<UserError>(() => new Mim(sizes, new MimOptions { Layers = new[] { "block9" } }.Estimator, Rng.Torch(9)));
        Assert.Contains("block0, block1, block2", error.Message);
    }
}
