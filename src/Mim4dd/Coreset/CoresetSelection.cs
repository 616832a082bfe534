using Mim4dd.Data;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Coreset;

/// <summary>Picks <c>ipc</c> real images per class; returns dataset indices, class-major (class 0's first).</summary>
public static class CoresetSelection
{
    public static void CheckImagesPerClass(Dataset data, int imagesPerClass)
    {
        OptionRange.AtLeast("--ipc", imagesPerClass, 1, "pass --ipc 1, 10 or 50");
        var counts = data.ClassCounts();
        for (int c = 0; c < counts.Length; c++)
            if (counts[c] < imagesPerClass)
                throw UserError.At("--ipc",
                    $"{imagesPerClass} images per class requested but class {c} ({data.ClassNames[c]}) has only {counts[c]}",
                    $"pass --ipc {counts.Min()} or less");
    }

    /// <summary>Uniformly random images of each class, without replacement.</summary>
    public static Tensor Random(Dataset data, int imagesPerClass, Generator generator)
    {
        CheckImagesPerClass(data, imagesPerClass);
        using var scope = NewDisposeScope();
        var picks = new List<Tensor>();
        for (int c = 0; c < data.NumClasses; c++)
        {
            var members = data.IndicesOf(c);
            picks.Add(members.index_select(0, randperm(members.shape[0], generator: generator).narrow(0, 0, imagesPerClass)));
        }
        return cat(picks, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Up to <paramref name="perClass"/> random indices of each label 0..max(labels), class by class.</summary>
    public static Tensor AtMostPerClass(Tensor labels, int perClass, Generator generator)
    {
        using var scope = NewDisposeScope();
        long classes = labels.max().LongValue() + 1;
        var picks = new List<Tensor>();
        for (long c = 0; c < classes; c++)
        {
            using var classIndex = tensor(c);
            var members = labels.eq(classIndex).nonzero().squeeze(1);
            picks.Add(members.index_select(0, randperm(members.shape[0], generator: generator)
                .narrow(0, 0, Math.Min(perClass, members.shape[0]))));
        }
        return cat(picks, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Herding (Welling 2009, as the DC paper's baseline): greedily add the sample that brings the running
    /// mean of the chosen features closest to the class mean. <paramref name="features"/> [N, D] for the whole dataset.
    /// </summary>
    public static Tensor Herding(Dataset data, Tensor features, int imagesPerClass)
    {
        CheckImagesPerClass(data, imagesPerClass);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var picks = new List<Tensor>();
        for (int c = 0; c < data.NumClasses; c++)
        {
            using var classScope = NewDisposeScope();
            var members = data.IndicesOf(c);
            var f = features.index_select(0, members).to_type(ScalarType.Float64);   // [n, D]
            picks.Add(members.index_select(0, HerdingOrder(f, imagesPerClass)).MoveToOuterDisposeScope());
        }
        return cat(picks, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Herding order within one class: positions into <paramref name="features"/> [n, D].</summary>
    public static Tensor HerdingOrder(Tensor features, int count)
    {
        using var scope = NewDisposeScope();
        var mean = features.mean(new long[] { 0 });
        var squaredNorms = features.Power(2).sum(1);                     // [n]
        var chosenSum = zeros_like(mean);
        var available = ones(features.shape[0], ScalarType.Bool);
        var order = new long[count];
        for (int k = 1; k <= count; k++)
        {
            using var step = NewDisposeScope();
            // ‖μ − (S + f_i)/k‖² = ‖c‖² − (2/k)⟨c, f_i⟩ + ‖f_i‖²/k² with c = μ − S/k;
            // ‖c‖² is the same for every i, so one matrix-vector product ranks all candidates without an [n, D] temporary.
            var c = mean - chosenSum.Over(k);
            var distance = squaredNorms.Over(k * (double)k) - features.mv(c).Times(2.0 / k);
            distance = distance.FillWhere(available.logical_not(), double.PositiveInfinity);
            long best = distance.argmin().item<long>();
            order[k - 1] = best;
            available[best] = false;
            chosenSum.PlusInPlace(features[best]);
        }
        return tensor(order).MoveToOuterDisposeScope();
    }
}
