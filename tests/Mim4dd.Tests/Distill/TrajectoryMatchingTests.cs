using Mim4dd.Augment;
using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

public class TrajectoryMatchingTests
{
    /// <summary>A small float64 problem: ConvNet-1 (width 4) on 12 noise images of 1×8×8, 3 classes.</summary>
    private static Unroll Problem(int steps, int batch, IAugment? augment, long seed = 5)
    {
        TorchRuntime.Start();
        var net = ConvNet.Build("tiny", new InputShape(1, 8, 8), 3, depth: 1, width: 4);
        using var w0 = net.Initialize(Rng.Torch(seed, 1), ScalarType.Float64);
        using var w1 = net.Initialize(Rng.Torch(seed, 2), ScalarType.Float64);
        var start = FlatParameters.Flatten(w0.Parameters).detach();
        var target = (start + 0.05 * (FlatParameters.Flatten(w1.Parameters).detach() - start)).detach();
        var images = randn(new long[] { 12, 1, 8, 8 }, ScalarType.Float64, generator: Rng.Torch(seed, 3)).requires_grad_();
        var labels = arange(12).remainder(3);
        return new Unroll(net, start, target, images, labels, tensor(0.05, ScalarType.Float64), steps, batch, augment, seed);
    }

    private static double RelativeError(Tensor a, Tensor b) =>
        (a - b).norm().item<double>() / Math.Max(b.norm().item<double>(), 1e-300);

    [Theory]
    [InlineData(5, 12, false)]
    [InlineData(5, 5, false)]
    [InlineData(5, 4, true)]
    public void Reverse_EqualsNaiveAutograd_InFloat64(int steps, int batch, bool augment)
    {
        var u = Problem(steps, batch, augment ? new Dsa(Dsa.NoFlip) : null);
        using var naive = TrajectoryMatching.Naive(u);
        using var reverse = TrajectoryMatching.Reverse(u);
        Assert.Equal(naive.Loss, reverse.Loss, 12);
        Assert.True(naive.Images.abs().max().item<double>() > 0, "the image gradient is not trivially zero");
        Assert.True(RelativeError(reverse.Images, naive.Images) < 1e-5,
            $"image gradient rel. error {RelativeError(reverse.Images, naive.Images):E2}");
        Assert.True(RelativeError(reverse.LearningRate, naive.LearningRate) < 1e-5,
            $"lr gradient rel. error {RelativeError(reverse.LearningRate, naive.LearningRate):E2}");
        Assert.True(RelativeError(reverse.FinalParameters, naive.FinalParameters) < 1e-12);
    }

    [Fact]
    public void Reverse_WithAnExtraLossOnTheFinalStudent_EqualsNaive()
    {
        var u = Problem(4, 6, null);
        var probe = randn(new long[] { 3, 1, 8, 8 }, ScalarType.Float64, generator: Rng.Torch(9));
        // An add-on that depends on θ_N and directly on the images (as MIM's student features do).
        Tensor Extra(Tensor final) =>
            0.3 * u.Net.Forward(FlatParameters.Unflatten(final, u.Net), cat(new[] { probe, u.Images.narrow(0, 0, 3) }, 0)).pow(2).mean();
        using var naive = TrajectoryMatching.Naive(u, Extra);
        using var reverse = TrajectoryMatching.Reverse(u, Extra);
        Assert.Equal(naive.Loss, reverse.Loss, 12);
        Assert.True(RelativeError(reverse.Images, naive.Images) < 1e-5);
        Assert.True(RelativeError(reverse.LearningRate, naive.LearningRate) < 1e-5);
    }

    [Fact]
    public void Bptt_NoTargetAndARealLossOnTheFinalStudent_ReverseEqualsNaive()
    {
        // BPTT: no expert target; the whole loss is the cross-entropy of θ_N on a (real) batch, through every step.
        var u = Problem(5, 4, new Dsa(Dsa.NoFlip)) with { Target = null };
        var real = randn(new long[] { 6, 1, 8, 8 }, ScalarType.Float64, generator: Rng.Torch(11));
        var realLabels = arange(6).remainder(3);
        Tensor RealLoss(Tensor final) =>
            nn.functional.cross_entropy(u.Net.Forward(FlatParameters.Unflatten(final, u.Net), real), realLabels);
        using var naive = TrajectoryMatching.Naive(u, RealLoss);
        using var reverse = TrajectoryMatching.Reverse(u, RealLoss);
        Assert.Equal(0, reverse.MatchLoss);
        Assert.Equal(naive.Loss, reverse.Loss, 12);
        Assert.True(naive.Images.abs().max().item<double>() > 0, "the image gradient is not trivially zero");
        Assert.True(RelativeError(reverse.Images, naive.Images) < 1e-5,
            $"image gradient rel. error {RelativeError(reverse.Images, naive.Images):E2}");
        Assert.True(RelativeError(reverse.LearningRate, naive.LearningRate) < 1e-5);
    }

    [Fact]
    public void FirstOrder_IsExactForOneStep_AndAnApproximationThatPointsTheSameWayForMore()
    {
        var one = Problem(1, 6, new Dsa(Dsa.NoFlip));
        using (var exact = TrajectoryMatching.Reverse(one))
        using (var first = TrajectoryMatching.Compute("first-order", one))
        {
            Assert.True(RelativeError(first.Images, exact.Images) < 1e-12);
            Assert.True(RelativeError(first.LearningRate, exact.LearningRate) < 1e-12);
            Assert.Equal(exact.Loss, first.Loss, 14);
        }
        var five = Problem(5, 6, new Dsa(Dsa.NoFlip));
        using var exactFive = TrajectoryMatching.Reverse(five);
        using var firstFive = TrajectoryMatching.Compute("first-order", five);
        Assert.Equal(exactFive.Loss, firstFive.Loss, 14);
        Assert.True(RelativeError(firstFive.Images, exactFive.Images) > 1e-6, "the Hessian terms are dropped, so five steps differ");
        double cosine = (firstFive.Images * exactFive.Images).sum().item<double>()
            / (firstFive.Images.norm().item<double>() * exactFive.Images.norm().item<double>());
        Assert.True(cosine > 0.5, $"cosine to the exact image gradient {cosine:F3}");
    }

    [Fact]
    public void LossGradient_MatchesAFiniteDifferenceInTheLearningRate()
    {
        var u = Problem(3, 12, null);
        using var reverse = TrajectoryMatching.Reverse(u);
        const double eps = 1e-6;
        double LossAt(double lr) => TrajectoryMatching.Reverse(u with { LearningRate = tensor(lr, ScalarType.Float64) }).Loss;
        double numeric = (LossAt(0.05 + eps) - LossAt(0.05 - eps)) / (2 * eps);
        Assert.Equal(numeric, reverse.LearningRate.item<double>(), 6);
    }

    /// <summary>The problem with learned soft labels: float64 logits [12, 3], a leaf that requires grad.</summary>
    private static Unroll SoftProblem(int steps, int batch, IAugment? augment)
    {
        var u = Problem(steps, batch, augment);
        var logits = randn(new long[] { 12, 3 }, ScalarType.Float64, generator: Rng.Torch(13)).Times(2).requires_grad_();
        return u with { Labels = logits };
    }

    [Theory]
    [InlineData(5, 12, false)]
    [InlineData(5, 4, true)]
    public void SoftLabels_ReverseEqualsNaive_ForImagesLrAndLabels_InFloat64(int steps, int batch, bool augment)
    {
        var u = SoftProblem(steps, batch, augment ? new Dsa(Dsa.NoFlip) : null);
        using var naive = TrajectoryMatching.Naive(u);
        using var reverse = TrajectoryMatching.Reverse(u);
        Assert.Equal(naive.Loss, reverse.Loss, 12);
        Assert.NotNull(naive.Labels);
        Assert.NotNull(reverse.Labels);
        Assert.Equal(new long[] { 12, 3 }, reverse.Labels!.shape);
        Assert.True(naive.Labels!.abs().max().item<double>() > 0, "the label gradient is not trivially zero");
        Assert.True(RelativeError(reverse.Labels, naive.Labels) < 1e-5,
            $"label gradient rel. error {RelativeError(reverse.Labels, naive.Labels):E2}");
        Assert.True(RelativeError(reverse.Images, naive.Images) < 1e-5);
        Assert.True(RelativeError(reverse.LearningRate, naive.LearningRate) < 1e-5);
    }

    [Fact]
    public void SoftLabels_Gradient_MatchesAFiniteDifference()
    {
        var u = SoftProblem(3, 12, null);
        using var reverse = TrajectoryMatching.Reverse(u);
        const double eps = 1e-6;
        var direction = randn(new long[] { 12, 3 }, ScalarType.Float64, generator: Rng.Torch(17));
        double LossAt(double h) =>
            TrajectoryMatching.Reverse(u with { Labels = (u.Labels.detach() + direction.Times(h)).requires_grad_() }).Loss;
        double numeric = (LossAt(eps) - LossAt(-eps)) / (2 * eps);
        Assert.Equal(numeric, (reverse.Labels! * direction).sum().item<double>(), 6);
    }

    [Fact]
    public void HardLabels_GiveNoLabelGradient_AndSoftOneHotLabelsTrainLikeThem()
    {
        var hard = Problem(3, 12, null);
        using var h = TrajectoryMatching.Reverse(hard);
        Assert.Null(h.Labels);
        // Logits 40·one-hot: softmax is one-hot to ~1e-17, so the soft loss is the hard one and the students agree.
        var oneHot = nn.functional.one_hot(hard.Labels, 3).to_type(ScalarType.Float64).Times(40).requires_grad_();
        using var s = TrajectoryMatching.Reverse(hard with { Labels = oneHot });
        Assert.True(RelativeError(s.FinalParameters, h.FinalParameters) < 1e-10);
        Assert.Equal(h.Loss, s.Loss, 10);
    }

    [Fact]
    public void WrongSizedExpert_IsAUserError()
    {
        var u = Problem(2, 12, null);
        var e = Assert.Throws<UserError>(() =>
            TrajectoryMatching.Reverse(u with { Start = zeros(10, ScalarType.Float64), Target = zeros(10, ScalarType.Float64) }));
        Assert.Contains("parameters", e.Message);
    }
}
