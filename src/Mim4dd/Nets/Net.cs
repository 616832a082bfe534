using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Nets;

/// <summary>The tensors of one network instance: parameters (what training changes) and buffers (batch-norm statistics).</summary>
public sealed class NetWeights(List<Tensor> parameters, List<Tensor> buffers) : IDisposable
{
    public List<Tensor> Parameters { get; } = parameters;
    public List<Tensor> Buffers { get; } = buffers;

    public void Dispose()
    {
        foreach (var t in Parameters) t.Dispose();
        foreach (var t in Buffers) t.Dispose();
    }
}

/// <summary>
/// A functional network: a declaration of named tensors plus a forward pass over a flat parameter
/// list. The same code serves ordinary training, unrolled student training (parameters are graph
/// nodes) and feature taps. Names follow PyTorch's state-dict names of the reference modules.
/// </summary>
public sealed class Net
{
    private readonly Layer features;
    private readonly Layer classifier;

    /// <param name="features">Maps images to the flattened embedding [N, <paramref name="embeddingSize"/>].</param>
    /// <param name="classifier">The final layer, embedding → logits.</param>
    /// <param name="featuresPrefix">Name prefix of the features' tensors; empty where the reference module has no
    /// <c>features</c> submodule (ResNet's <c>conv1</c>, LeNet's <c>fc_1</c>).</param>
    /// <param name="classifierPrefix">Name prefix of the classifier's tensors (<c>fc.</c> in AlexNet, <c>fc_3.</c> in LeNet).</param>
    public Net(string name, Layer features, Layer classifier, long embeddingSize,
        string featuresPrefix = "features.", string classifierPrefix = "classifier.")
    {
        Name = name;
        this.features = features;
        this.classifier = classifier;
        EmbeddingSize = embeddingSize;
        var specs = new SpecBuilder();
        features.Declare(specs, featuresPrefix);
        classifier.Declare(specs, classifierPrefix);
        Parameters = specs.Parameters;
        Buffers = specs.Buffers;
    }

    public string Name { get; }
    public IReadOnlyList<TensorSpec> Parameters { get; }
    public IReadOnlyList<TensorSpec> Buffers { get; }
    public long EmbeddingSize { get; }
    public long ParameterCount => Parameters.Sum(p => p.Count);
    public bool HasBatchNorm => Buffers.Count > 0;

    /// <summary>Fresh weights drawn with PyTorch's default initialisation from <paramref name="generator"/>.</summary>
    public NetWeights Initialize(Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        var parameters = Parameters.Select(s => Create(s, generator, dtype).requires_grad_()).ToList();
        var buffers = Buffers.Select(s => Create(s, generator, dtype)).ToList();
        return new NetWeights(parameters, buffers);
    }

    private static Tensor Create(TensorSpec spec, Generator generator, ScalarType dtype) => spec.Init switch
    {
        InitKind.Ones => ones(spec.Shape, dtype),
        InitKind.Zeros => zeros(spec.Shape, dtype),
        _ => rand(spec.Shape, dtype, generator: generator).TimesInPlace(2.0 / Math.Sqrt(spec.FanIn))
            .MinusInPlace(1.0 / Math.Sqrt(spec.FanIn)),
    };

    /// <summary>Logits [N, classes].</summary>
    public Tensor Forward(IReadOnlyList<Tensor> parameters, Tensor x, bool training = true,
        IReadOnlyList<Tensor>? buffers = null, FeatureTap? tap = null)
    {
        var pass = new ForwardPass(parameters, buffers, training, tap);
        var logits = classifier.Forward(pass, features.Forward(pass, x));
        pass.Finish();
        return logits;
    }

    /// <summary>The flattened feature before the classifier [N, EmbeddingSize] (DM's embedding, herding's features).</summary>
    public Tensor Embed(IReadOnlyList<Tensor> parameters, Tensor x, bool training = true,
        IReadOnlyList<Tensor>? buffers = null, FeatureTap? tap = null)
    {
        var pass = new ForwardPass(parameters, buffers, training, tap);
        var f = features.Forward(pass, x);
        return f.reshape(f.shape[0], -1);
    }

    /// <summary>
    /// Batch size of shape-probing passes. LibTorch sends CPU convolutions of fewer than 16 images to NNPACK,
    /// which prints a warning on every CPU it does not know; probes never need fewer.
    /// </summary>
    public const int ProbeBatch = 16;

    /// <summary>FLOPs (2 × multiply-adds of conv and linear layers) of one forward pass on one input of this shape.</summary>
    public long ForwardFlops(InputShape input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var weights = Initialize(new Generator(0));
        var pass = new ForwardPass(weights.Parameters, weights.Buffers, false, null);
        classifier.Forward(pass, features.Forward(pass, zeros(ProbeBatch, input.Channels, input.Height, input.Width)));
        return pass.Flops / ProbeBatch;
    }

    public Tensor Forward(NetWeights weights, Tensor x, bool training = true, FeatureTap? tap = null) =>
        Forward(weights.Parameters, x, training, weights.Buffers, tap);
}
