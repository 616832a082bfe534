using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Nets;

/// <summary>How a tensor is initialised, as PyTorch's module defaults do it.</summary>
public enum InitKind
{
    /// <summary>U(±1/√fan_in): kaiming_uniform(a=√5) for weights, and the matching bias rule.</summary>
    FanInUniform,
    Ones,
    Zeros,
}

/// <summary>Name, shape and init rule of one parameter or buffer.</summary>
public sealed record TensorSpec(string Name, long[] Shape, InitKind Init, long FanIn = 0)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>Collects parameter and buffer specs in forward order while a network is declared.</summary>
public sealed class SpecBuilder
{
    public List<TensorSpec> Parameters { get; } = new();
    public List<TensorSpec> Buffers { get; } = new();
}

/// <summary>
/// What one forward pass reads: parameters (handed out in declaration order), buffers (batch-norm
/// running statistics, updated in place when training), the mode, and an optional feature tap.
/// </summary>
public sealed class ForwardPass(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor>? buffers, bool training, FeatureTap? tap)
{
    private int nextParameter, nextBuffer;
    public bool Training { get; } = training;
    public FeatureTap? Tap { get; } = tap;

    /// <summary>Multiply-adds ×2 of the convolutions and linear layers run so far (for GFLOP/s figures).</summary>
    public long Flops { get; set; }

    public Tensor NextParameter() => parameters[nextParameter++];

    public Tensor NextBuffer() =>
        buffers is not null ? buffers[nextBuffer++]
            : throw new InvalidOperationException("this network has batch-norm buffers; pass them to Forward");

    /// <summary>Checks every parameter was consumed: a mismatch means the list belongs to another net.</summary>
    public void Finish()
    {
        if (nextParameter != parameters.Count)
            throw new ArgumentException($"forward used {nextParameter} parameters but {parameters.Count} were given");
    }
}

/// <summary>Records named intermediate features (e.g. each block's output, for MIM and t-SNE).</summary>
public sealed class FeatureTap
{
    public List<(string Name, Tensor Value)> Features { get; } = new();
    public void Record(string name, Tensor value) => Features.Add((name, value));
}

/// <summary>A functional layer: declares its tensors once, then computes from a <see cref="ForwardPass"/>.</summary>
public abstract class Layer
{
    public abstract void Declare(SpecBuilder specs, string prefix);
    public abstract Tensor Forward(ForwardPass pass, Tensor x);
}

public sealed class Conv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, bool bias = true) : Layer
{
    public override void Declare(SpecBuilder specs, string prefix)
    {
        long fanIn = inChannels * kernel * kernel;
        specs.Parameters.Add(new($"{prefix}weight", new[] { outChannels, inChannels, kernel, kernel }, InitKind.FanInUniform, fanIn));
        if (bias) specs.Parameters.Add(new($"{prefix}bias", new[] { outChannels }, InitKind.FanInUniform, fanIn));
    }

    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        var w = pass.NextParameter();
        var b = bias ? pass.NextParameter() : null;
        long terms = inChannels * kernel * kernel;
        long bf16Terms = ComputePrecision.Bf16Convolution(inChannels, outChannels) ? terms : 0;
        var y = ComputePrecision.Back(F.conv2d(ComputePrecision.ForProduct(x, bf16Terms)!, ComputePrecision.ForProduct(w, bf16Terms)!,
            ComputePrecision.ForProduct(b, bf16Terms), strides: new[] { stride, stride }, padding: new[] { padding, padding }), x);
        pass.Flops += 2 * y.numel() * terms;
        return y;
    }
}

public sealed class Linear(long inFeatures, long outFeatures) : Layer
{
    public override void Declare(SpecBuilder specs, string prefix)
    {
        specs.Parameters.Add(new($"{prefix}weight", new[] { outFeatures, inFeatures }, InitKind.FanInUniform, inFeatures));
        specs.Parameters.Add(new($"{prefix}bias", new[] { outFeatures }, InitKind.FanInUniform, inFeatures));
    }

    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        pass.Flops += 2 * x.shape[0] * inFeatures * outFeatures;
        var (w, b) = (pass.NextParameter(), pass.NextParameter());
        return ComputePrecision.Back(F.linear(ComputePrecision.ForProduct(x, inFeatures)!, ComputePrecision.ForProduct(w, inFeatures)!,
            ComputePrecision.ForProduct(b, inFeatures)), x);
    }
}

/// <summary>Normalisation layers by the DC code's names.</summary>
public enum NormKind
{
    /// <summary>GroupNorm(C, C): one group per channel ("instancenorm" in the DC code).</summary>
    Instance,
    Batch,
    /// <summary>LayerNorm over [C, H, W].</summary>
    Layer,
    /// <summary>GroupNorm(4, C).</summary>
    Group,
    None,
}

/// <summary>A normalisation layer over [N, C, H, W]; <paramref name="height"/>/<paramref name="width"/> only matter
/// for LayerNorm.</summary>
public sealed class Norm(NormKind kind, long channels, long height = 0, long width = 0) : Layer
{
    private const double Eps = 1e-5;

    public override void Declare(SpecBuilder specs, string prefix)
    {
        if (kind == NormKind.None) return;
        long[] shape = kind == NormKind.Layer ? new[] { channels, height, width } : new[] { channels };
        specs.Parameters.Add(new($"{prefix}weight", shape, InitKind.Ones));
        specs.Parameters.Add(new($"{prefix}bias", shape, InitKind.Zeros));
        if (kind == NormKind.Batch)
        {
            specs.Buffers.Add(new($"{prefix}running_mean", shape, InitKind.Zeros));
            specs.Buffers.Add(new($"{prefix}running_var", shape, InitKind.Ones));
        }
    }

    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        if (kind == NormKind.None) return x;
        var w = pass.NextParameter();
        var b = pass.NextParameter();
        return kind switch
        {
            NormKind.Instance => F.group_norm(x, channels, w, b, Eps),
            NormKind.Group => F.group_norm(x, 4, w, b, Eps),
            NormKind.Layer => F.layer_norm(x, new[] { channels, height, width }, w, b, Eps),
            NormKind.Batch => F.batch_norm(x, pass.NextBuffer(), pass.NextBuffer(), w, b, pass.Training, 0.1, Eps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }
}

public enum ActivationKind { ReLU, Sigmoid, LeakyReLU, Swish }

public sealed class Activation(ActivationKind kind) : Layer
{
    public override void Declare(SpecBuilder specs, string prefix) { }

    public override Tensor Forward(ForwardPass pass, Tensor x) => kind switch
    {
        ActivationKind.ReLU => F.relu(x),
        ActivationKind.Sigmoid => x.sigmoid(),
        ActivationKind.LeakyReLU => x.LeakyRelu(0.01),
        ActivationKind.Swish => x * x.sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

public enum PoolKind { Average, Max, None }

public sealed class Pool(PoolKind kind, long size = 2) : Layer
{
    public override void Declare(SpecBuilder specs, string prefix) { }

    public override Tensor Forward(ForwardPass pass, Tensor x) => kind switch
    {
        PoolKind.Average when size == 2 && x.dim() == 4 && x.shape[2] % 2 == 0 && x.shape[3] % 2 == 0 => AveragePool2x2(x),
        PoolKind.Average => F.avg_pool2d(x, size, size),
        PoolKind.Max => F.max_pool2d(x, size, size),
        _ => x,
    };

    /// <summary>
    /// avg_pool2d(x, 2, 2) for even H and W, as ops LibTorch runs at memory speed: row pairs added as the two
    /// contiguous halves of a [N, C, H/2, 2W] view, then column pairs by one GEMM with a fixed [W, W/2] matrix.
    /// LibTorch's own NCHW pooling kernels are scalar loops (13 % of an MTT iteration in docs/performance.md).
    /// </summary>
    public static Tensor AveragePool2x2(Tensor x)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var pairs = x.reshape(n, c, h / 2, 2 * w);
        var rows = pairs.narrow(3, 0, w).Plus(pairs.narrow(3, w, w));
        var columns = eye(w / 2, dtype: x.dtype, device: x.device).repeat_interleave(2, 0).TimesInPlace(0.25);
        return rows.matmul(columns);
    }
}

/// <summary>Flattens [N, C, H, W] to [N, C·H·W] in C, H, W order, as PyTorch's view does.</summary>
public sealed class Flatten : Layer
{
    public override void Declare(SpecBuilder specs, string prefix) { }
    public override Tensor Forward(ForwardPass pass, Tensor x) => x.reshape(x.shape[0], -1);
}

/// <summary>Records its input under a name in the pass's tap and returns it unchanged.</summary>
public sealed class Tap(string name) : Layer
{
    public override void Declare(SpecBuilder specs, string prefix) { }

    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        pass.Tap?.Record(name, x);
        return x;
    }
}

/// <summary>Layers applied in order; each child is named prefix + its key (PyTorch's Sequential indices, or a name).</summary>
public sealed class Sequence : Layer
{
    private readonly List<(string Key, Layer Layer)> children = new();
    private int nextIndex;

    /// <summary>Adds a child; taps are not modules in PyTorch, so they take no index.</summary>
    public Sequence Add(Layer layer, string? key = null)
    {
        children.Add((key ?? (layer is Tap ? "" : (nextIndex++).ToString()), layer));
        return this;
    }

    public override void Declare(SpecBuilder specs, string prefix)
    {
        foreach (var (key, layer) in children) layer.Declare(specs, $"{prefix}{key}.");
    }

    public override Tensor Forward(ForwardPass pass, Tensor x)
    {
        foreach (var (_, layer) in children) x = layer.Forward(pass, x);
        return x;
    }
}
