using static TorchSharp.torch;

namespace Mim4dd.Nets;

/// <summary>
/// A network's parameters as one flat vector (declaration order, each tensor row-major), the form expert
/// trajectories are stored in and trajectory matching compares; views back into per-tensor shapes.
/// </summary>
public static class FlatParameters
{
    public static Tensor Flatten(IReadOnlyList<Tensor> parameters) => cat(parameters.Select(p => p.reshape(-1)).ToList(), 0);

    /// <summary>Per-parameter views of <paramref name="flat"/> (no copy; gradients flow to the flat vector).</summary>
    public static List<Tensor> Unflatten(Tensor flat, Net net)
    {
        if (flat.dim() != 1 || flat.shape[0] != net.ParameterCount)
            throw new ArgumentException($"flat vector has {flat.numel()} values, {net.Name} needs {net.ParameterCount}");
        var views = new List<Tensor>(net.Parameters.Count);
        long offset = 0;
        foreach (var spec in net.Parameters)
        {
            views.Add(flat.narrow(0, offset, spec.Count).view(spec.Shape));
            offset += spec.Count;
        }
        return views;
    }
}
