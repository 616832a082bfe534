using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Train;

/// <summary>
/// What a set trains with: class indices (int64 [n], cross-entropy) or learned soft labels, float logits [n, C] whose
/// targets are their softmax (DATM, Guo et al., ICLR 2024): L = −(1/B) Σ_b Σ_c softmax(y_b)_c · log softmax(z_b)_c.
/// With one-hot-like logits the soft loss tends to the hard one; the logits themselves are what DATM learns.
/// </summary>
public static class Targets
{
    public static bool AreSoft(Tensor labels) => labels.dim() == 2 && labels.is_floating_point();

    /// <summary>The training loss of <paramref name="logits"/> [B, C] against <paramref name="labels"/> (hard or soft).</summary>
    public static Tensor Loss(Tensor logits, Tensor labels) => AreSoft(labels)
        ? (F.log_softmax(logits, 1) * F.softmax(labels, 1)).sum(1).mean().neg()
        : F.cross_entropy(logits, labels);

    /// <summary>"soft" or "hard", as reports and tables state it.</summary>
    public static string Kind(Tensor labels) => AreSoft(labels) ? "soft" : "hard";
}
