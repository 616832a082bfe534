using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// Exact t-SNE (van der Maaten &amp; Hinton, JMLR 2008) in float64 for the few hundred to few thousand points of a
/// report: Gaussian affinities calibrated per point to a perplexity by bisection, symmetrised; a Student-t map
/// optimised by gradient descent with early exaggeration 12 (first 250 steps), momentum 0.5 → 0.8, lr 200 and
/// the paper's adaptive gains. O(n²) memory, so it refuses more than <see cref="MaxPoints"/> points.
/// </summary>
public static class Tsne
{
    public const int MaxPoints = 5000;
    private const int ExaggeratedSteps = 250;

    /// <summary>A 2-D map [n, 2] of <paramref name="x"/> [n, d]; <paramref name="generator"/> draws the start.</summary>
    public static Tensor Embed(Tensor x, Generator generator, double perplexity = 30, int iterations = 1000)
    {
        long n = x.shape[0];
        if (x.dim() != 2 || n < 4 || n > MaxPoints)
            throw new ArgumentException($"t-SNE takes [n, d] with 4 ≤ n ≤ {MaxPoints}, got [{string.Join(", ", x.shape)}]");
        using var scope = NewDisposeScope();
        var p = JointAffinities(x, Math.Min(perplexity, (n - 1) / 3.0));
        var y = randn(new[] { n, 2L }, ScalarType.Float64, generator: generator).TimesInPlace(1e-4);
        var velocity = zeros_like(y);
        var gains = ones_like(y);
        var offDiagonal = eye(n, dtype: ScalarType.Float64).neg().Plus(1);
        for (int step = 0; step < iterations; step++)
        {
            // Each step's n × n temporaries die with the step (a scope over the whole loop would keep them all).
            using var stepScope = NewDisposeScope();
            bool early = step < ExaggeratedSteps;
            var squared = y.Power(2).sum(1, keepdim: true);
            var kernel = (squared.Plus(1).Plus(squared.t()) - y.mm(y.t()).Times(2)).reciprocal()
                * offDiagonal;   // (1 + ‖yi − yj‖²)⁻¹
            var q = (kernel / kernel.sum()).AtLeast(1e-12);
            var weight = (p.Times(early ? 12 : 1) - q) * kernel;
            var gradient = (weight.sum(1, keepdim: true) * y - weight.mm(y)).Times(4);
            gains.copy_(where(gradient.sign().ne(velocity.sign()), gains.Plus(0.2), gains.Times(0.8)).AtLeast(0.01));
            velocity.TimesInPlace(early ? 0.5 : 0.8).sub_(gains.Times(200) * gradient);
            y.PlusInPlace(velocity).sub_(y.mean(new long[] { 0 }, keepdim: true));
        }
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>P = (P_{j|i} + P_{i|j}) / 2n with every row P_{·|i} at the given perplexity.</summary>
    internal static Tensor JointAffinities(Tensor x, double perplexity)
    {
        long n = x.shape[0];
        using var scope = NewDisposeScope();
        var conditional = ConditionalAffinities(x, perplexity);
        return conditional.Plus(conditional.t()).Over(2.0 * n).AtLeast(1e-12).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Rows P_{j|i} ∝ exp(−β_i‖xi − xj‖²), P_{i|i} = 0, with β_i bisected (all rows at once) until the row entropy is
    /// ln(perplexity). Distances are scaled by their mean so β = 1 is a sensible start for any feature scale.
    /// </summary>
    internal static Tensor ConditionalAffinities(Tensor x, double perplexity)
    {
        long n = x.shape[0];
        using var scope = NewDisposeScope();
        var points = x.to_type(ScalarType.Float64);
        var squared = points.Power(2).sum(1, keepdim: true);
        var distances = (squared.Plus(squared.t()) - points.mm(points.t()).Times(2)).AtLeast(0);
        var offDiagonal = eye(n, dtype: ScalarType.Float64).neg().Plus(1);
        distances = distances / distances.sum().Over(n * (n - 1)).AtLeast(1e-300);
        // Shifting each row by its smallest off-diagonal distance changes no normalised row and keeps exp from underflowing.
        var shifted = (distances - distances.Plus(eye(n, dtype: ScalarType.Float64).Times(double.MaxValue)).min(1, keepdim: true).values)
            * offDiagonal;
        var target = Math.Log(perplexity);
        var beta = ones(n, 1, ScalarType.Float64);
        var low = zeros_like(beta);
        var high = beta.FullLike(double.PositiveInfinity);
        for (int i = 0; i < 100; i++)
        {
            using var stepScope = NewDisposeScope();
            var unnormalised = (-shifted * beta).exp() * offDiagonal;
            var total = unnormalised.sum(1, keepdim: true);
            var entropy = total.log().Plus(beta * (shifted * unnormalised).sum(1, keepdim: true) / total);
            var tooFlat = entropy.GreaterThan(target);   // too high an entropy: sharpen (raise β)
            low.copy_(where(tooFlat, beta, low));
            high.copy_(where(tooFlat, high, beta));
            beta.copy_(where(high.isinf(), beta.Times(2), low.Plus(high).Over(2)));
        }
        var rows = (-shifted * beta).exp() * offDiagonal;
        return (rows / rows.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }
}
