using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>One unrolled training problem: the student starts at <see cref="Start"/>, trains on the synthetic set and is
/// compared with <see cref="Target"/>.</summary>
/// <param name="Start">θ*_t, the expert's flat parameters at the start epoch (BPTT: a fresh initialisation).</param>
/// <param name="Target">θ*_{t+M}, the expert's flat parameters M epochs later; null for no matching term (BPTT,
/// where the whole loss is the extra loss on the final student).</param>
/// <param name="Images">Synthetic images [n, C, H, W] (a leaf; gradients are returned, not accumulated).</param>
/// <param name="Labels">Class indices [n], or learned soft labels (logits [n, classes], a leaf that requires grad: their
/// gradient is returned too; <see cref="Train.Targets"/>).</param>
/// <param name="Seed">Fixes the minibatch order and the augmentation of every student step.</param>
public sealed record Unroll(Net Net, Tensor Start, Tensor? Target, Tensor Images, Tensor Labels, Tensor LearningRate,
    int Steps, int BatchSize, IAugment? Augment, long Seed);

/// <summary>The matching loss and its gradients w.r.t. the synthetic images, the student learning rate and, for learned
/// soft labels, the labels (null for hard labels).</summary>
public sealed record UnrollGradients(double MatchLoss, double ExtraLoss, Tensor Images, Tensor LearningRate,
    Tensor FinalParameters, Tensor? Labels = null) : IDisposable
{
    public double Loss => MatchLoss + ExtraLoss;

    public void Dispose()
    {
        Images.Dispose();
        LearningRate.Dispose();
        FinalParameters.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>
/// MTT's matching loss L = ‖θ_N − θ*‖² / ‖θ_0 − θ*‖² after N student steps θ_{i+1} = θ_i − α·∇ℓ(θ_i; X_i),
/// differentiated w.r.t. the images X and α. <see cref="Reverse"/> is exact in constant activation memory
/// (one step's graph alive at a time); <see cref="Naive"/> keeps the whole unroll's graph, as the reference does.
/// </summary>
public static class TrajectoryMatching
{
    /// <summary>
    /// Forward without graph storing θ_0..θ_N, then for i = N−1…0 rebuild step i and take one double-backward of
    /// ⟨g_i, a_{i+1}⟩: dX −= α(∂g_i/∂X)ᵀa_{i+1}; dα −= ⟨g_i, a_{i+1}⟩; a_i = a_{i+1} − α·H_i·a_{i+1}. Learned soft labels Y
    /// enter g_i as X does, so the same double-backward gives dY −= α(∂g_i/∂Y)ᵀa_{i+1}.
    /// </summary>
    /// <param name="firstOrder">Drop the Hessian terms: every step's images get (∂g_i/∂X)ᵀ·a_N with the final adjoint
    /// a_N and α gets −Σ⟨g_i, a_N⟩; no derivative w.r.t. θ is taken in the backward pass (cheaper, approximate; exact
    /// for N = 1).</param>
    public static UnrollGradients Reverse(Unroll u, Func<Tensor, Tensor>? extraLossOnFinal = null, bool firstOrder = false)
    {
        Check(u);
        var batches = Schedule(u);
        var alpha = u.LearningRate.detach();
        var thetas = new List<Tensor> { u.Start.detach().clone() };
        using (var noGradImages = u.Images.detach())
        {
            for (int i = 0; i < u.Steps; i++)
            {
                using var scope = NewDisposeScope();
                var theta = thetas[i].clone().requires_grad_();
                var g = StepGradient(u, theta, noGradImages, batches[i], i, createGraph: false);
                thetas.Add((theta.detach() - alpha * g).DetachFromDisposeScope());
            }
        }
        var final = thetas[^1];
        double lossValue, extraValue = 0;
        Tensor adjoint;   // a_N = ∂L/∂θ_N
        if (u.Target is null)
        {
            lossValue = 0;
            adjoint = zeros_like(final);
        }
        else
        {
            using var scope = NewDisposeScope();
            var denominator = (u.Start - u.Target).Power(2).sum();
            lossValue = ((final - u.Target).Power(2).sum() / denominator).Value();
            adjoint = ((final - u.Target).Times(2) / denominator).DetachFromDisposeScope();
        }
        var imageGrad = zeros_like(u.Images);
        var labelGrad = LearnsLabels(u) ? zeros_like(u.Labels) : null;
        if (extraLossOnFinal is not null)
        {
            using var scope = NewDisposeScope();
            var leaf = final.clone().requires_grad_();
            var extra = extraLossOnFinal(leaf);
            var grads = autograd.grad(new[] { extra }, new[] { leaf, u.Images }, allow_unused: true);
            if (grads[0] is { IsInvalid: false }) adjoint.PlusInPlace(grads[0]);
            if (grads[1] is { IsInvalid: false }) imageGrad.PlusInPlace(grads[1]);
            extraValue = extra.Value();
        }
        var lrGrad = zeros_like(alpha);
        for (int i = u.Steps - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            var theta = thetas[i].requires_grad_();
            var g = StepGradient(u, theta, u.Images, batches[i], i, createGraph: true);
            var dot = (g * adjoint).sum();
            var inputs = new List<Tensor> { u.Images };
            if (labelGrad is not null) inputs.Add(u.Labels);
            if (!firstOrder) inputs.Add(theta);
            var grads = autograd.grad(new[] { dot }, inputs);
            using (no_grad())
            {
                imageGrad.sub_(grads[0] * alpha);
                lrGrad.sub_(dot.detach());
                labelGrad?.sub_(grads[1] * alpha);
                if (!firstOrder) adjoint.sub_(grads[^1] * alpha);
            }
            theta.requires_grad_(false);
        }
        foreach (var t in thetas.Take(u.Steps)) t.Dispose();
        adjoint.Dispose();
        return new UnrollGradients(lossValue, extraValue, imageGrad, lrGrad, final, labelGrad);
    }

    /// <summary>Whether the unroll's labels are learned soft labels (a leaf that requires grad).</summary>
    private static bool LearnsLabels(Unroll u) => Train.Targets.AreSoft(u.Labels) && u.Labels.requires_grad;

    /// <summary>The gradient by the path an options string names: "reverse" (exact), "first-order" or "naive" (exact, whole
    /// graph).</summary>
    public static UnrollGradients Compute(string path, Unroll u, Func<Tensor, Tensor>? extraLossOnFinal = null) => path switch
    {
        "naive" => Naive(u, extraLossOnFinal),
        "first-order" => Reverse(u, extraLossOnFinal, firstOrder: true),
        "reverse" => Reverse(u, extraLossOnFinal),
        _ => throw UnknownUnroll(path),
    };

    /// <summary>The checks of the unrolled student's options, MTT's and BPTT's alike.</summary>
    public static void CheckStudent(int synSteps, int? batchSyn, double lrLr, double startLr, string unroll)
    {
        OptionRange.AtLeast("--syn-steps", synSteps, 1, "pass e.g. --syn-steps 20");
        if (batchSyn is < 1)
            throw UserError.At("--batch-syn", $"must be at least 1, got {batchSyn}", "omit it to use all synthetic images");
        OptionRange.Positive("--lr-lr", lrLr, "pass e.g. --lr-lr 1e-5");
        OptionRange.Positive("--lr-teacher", startLr, "pass e.g. --lr-teacher 0.01");
        CheckUnroll(unroll);
    }

    /// <summary>Refuses an --unroll value <see cref="Compute"/> does not know, before any work.</summary>
    public static void CheckUnroll(string path)
    {
        if (path is not ("reverse" or "first-order" or "naive")) throw UnknownUnroll(path);
    }

    private static UserError UnknownUnroll(string path) =>
        UserError.At($"--unroll {path}", "unknown unroll", "use reverse, first-order or naive");

    /// <summary>Backpropagation through the whole unroll (memory grows with the step count); the reference for
    /// <see cref="Reverse"/>.</summary>
    public static UnrollGradients Naive(Unroll u, Func<Tensor, Tensor>? extraLossOnFinal = null)
    {
        Check(u);
        var batches = Schedule(u);
        using var scope = NewDisposeScope();
        var alpha = u.LearningRate.detach().clone().requires_grad_();
        var theta = u.Start.detach().clone().requires_grad_();
        var start = theta;
        for (int i = 0; i < u.Steps; i++)
            theta = theta - alpha * StepGradient(u, theta, u.Images, batches[i], i, createGraph: true);
        var match = u.Target is null ? tensor(0.0, theta.dtype) : (theta - u.Target).Power(2).sum() / (u.Start - u.Target).Power(2).sum();
        var extra = extraLossOnFinal is null ? zeros_like(match) : extraLossOnFinal(theta);
        bool labels = LearnsLabels(u);
        var grads = autograd.grad(new[] { match.Plus(extra) }, labels ? new[] { u.Images, alpha, u.Labels } : new[] { u.Images, alpha });
        return new UnrollGradients(match.Value(), extra.Value(), grads[0].detach().MoveToOuterDisposeScope(),
            grads[1].detach().MoveToOuterDisposeScope(), theta.detach().MoveToOuterDisposeScope(),
            labels ? grads[2].detach().MoveToOuterDisposeScope() : null);
    }

    /// <summary>g_i = ∇θ CE(f_θ(A_i(X[b_i])), y[b_i]) (soft CE for soft labels); the augmentation A_i is reproduced from
    /// (seed, i).</summary>
    private static Tensor StepGradient(Unroll u, Tensor theta, Tensor images, Tensor batch, int step, bool createGraph)
    {
        var x = images.index_select(0, batch);
        if (u.Augment is not null)
        {
            using var generator = Rng.Torch(u.Seed, 1_000_000 + step);
            x = u.Augment.Apply(x, generator);
        }
        var loss = Train.Targets.Loss(u.Net.Forward(FlatParameters.Unflatten(theta, u.Net), x), u.Labels.index_select(0, batch));
        return autograd.grad(new[] { loss }, new[] { theta }, retain_graph: createGraph, create_graph: createGraph)[0];
    }

    /// <summary>MTT's minibatches: chunks of a fresh random permutation, a new permutation when one is used up.</summary>
    private static List<Tensor> Schedule(Unroll u)
    {
        long n = u.Images.shape[0];
        int batch = (int)Math.Min(u.BatchSize, n);
        using var generator = Rng.Torch(u.Seed, 7);
        var batches = new List<Tensor>();
        Tensor? permutation = null;
        long position = n;
        for (int i = 0; i < u.Steps; i++)
        {
            if (position + batch > n)
            {
                permutation?.Dispose();
                permutation = randperm(n, generator: generator);
                position = 0;
            }
            batches.Add(permutation!.narrow(0, position, batch).clone());
            position += batch;
        }
        permutation?.Dispose();
        return batches;
    }

    private static void Check(Unroll u)
    {
        if (u.Net.HasBatchNorm) throw UserError.At($"--arch {u.Net.Name}", "trajectory matching needs a network without batch-norm buffers",
            "use ConvNet (instance norm)");
        if (u.Start.dim() != 1 || u.Start.shape[0] != u.Net.ParameterCount
            || (u.Target is not null && !u.Target.shape.SequenceEqual(u.Start.shape)))
            throw UserError.At("expert trajectory",
                $"snapshots have {u.Start.numel()} values but {u.Net.Name} has {u.Net.ParameterCount} parameters",
                "use experts trained for this network and dataset");
        OptionRange.AtLeast("--syn-steps", u.Steps, 1, "pass e.g. --syn-steps 20");
        if (u.Labels.shape[0] != u.Images.shape[0])
            throw new ArgumentException($"{u.Labels.shape[0]} labels for {u.Images.shape[0]} images");
    }
}
