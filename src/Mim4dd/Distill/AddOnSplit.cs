using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>
/// An image gradient split into the method's part g_DD and the add-on's part g_add (λ·g_MIM) at the add-on's check
/// iterations: their norms and cosine show whether the term steers the images or drowns the method's gradient, and
/// with --mim-balance the add-on rescales its part. The gradients are linear in the add-on's weight, so
/// g_DD + f·g_add is exactly the gradient at the rescaled weight.
/// </summary>
internal static class AddOnSplit
{
    /// <summary>The add-on's factor for its part and the readings (metrics.jsonl keys) of one split.</summary>
    public static (double Factor, Dictionary<string, double> Readings) Rebalance(Tensor methodGrad, Tensor addOnGrad, IAddOn addOn)
    {
        using var scope = NewDisposeScope();
        var dd = methodGrad.reshape(-1);
        var extra = addOnGrad.reshape(-1);
        double ddNorm = dd.norm().Value(), extraNorm = extra.norm().Value();
        double cosine = ddNorm > 0 && extraNorm > 0 ? dd.dot(extra).Value() / (ddNorm * extraNorm) : 0;
        double factor = addOn.Rebalance(ddNorm, extraNorm);
        // grad_ratio is the term's share as the λ in use found it, before the check rescales it (with --mim-balance ρ the
        // logged grad_mim / grad_dd is ρ by construction; this shows how far λ drifted from it since the last check).
        var readings = new Dictionary<string, double> { ["grad_dd"] = ddNorm, ["grad_mim"] = factor * extraNorm, ["grad_cos"] = cosine };
        if (ddNorm > 0) readings["grad_ratio"] = extraNorm / ddNorm;
        return (factor, readings);
    }

    /// <summary>
    /// ∂(match + term)/∂images for a method whose loss is one graph (DM, DC/DSA), with the term's factor (1 unless
    /// balanced) and the split's readings at a check iteration (else null). <paramref name="term"/> is null without an add-on.
    /// </summary>
    public static (Tensor Gradient, double TermFactor, Dictionary<string, double>? Readings) Gradient(Tensor match, Tensor? term,
        Tensor images, IAddOn? addOn, int iteration)
    {
        if (addOn is null || term is null) return (autograd.grad(new[] { match }, new[] { images })[0], 1, null);
        if (!addOn.ChecksGradient(iteration)) return (autograd.grad(new[] { match.Plus(term) }, new[] { images })[0], 1, null);
        var methodGrad = autograd.grad(new[] { match }, new[] { images }, retain_graph: true)[0];
        var addOnGrad = autograd.grad(new[] { term }, new[] { images })[0];
        var (factor, readings) = Rebalance(methodGrad, addOnGrad, addOn);
        return (methodGrad.Plus(factor == 1 ? addOnGrad : addOnGrad.Times(factor)), factor, readings);
    }

    /// <summary>The add-on's own diagnostics, after the split's readings when the iteration had one.</summary>
    public static IReadOnlyDictionary<string, double>? Diagnostics(IAddOn? addOn, Dictionary<string, double>? readings) =>
        addOn is null ? null : readings is null ? addOn.Diagnostics : readings.Concat(addOn.Diagnostics).ToDictionary();
}
