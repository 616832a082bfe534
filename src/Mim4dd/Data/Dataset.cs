using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Data;

/// <summary>Per-channel normalisation (x/255 − mean) / std, as the papers' loaders apply it.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>Estimates per-channel mean and std from uint8 images [N, C, H, W].</summary>
    public static Normalization FromImages(Tensor imagesU8)
    {
        using var scope = NewDisposeScope();
        var x = imagesU8.to_type(ScalarType.Float64).OverInPlace(255.0).transpose(0, 1).reshape(imagesU8.shape[1], -1);
        var mean = x.mean(new long[] { 1 }).to_type(ScalarType.Float32).data<float>().ToArray();
        var std = x.std(1, unbiased: false).to_type(ScalarType.Float32).data<float>().ToArray();
        return new Normalization(mean, std);
    }

    /// <summary>Normalised images from pixels in [0, 1] [N, C, H, W]: (x − mean) / std, the inverse of <see cref="Undo"/>.</summary>
    public Tensor Apply(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = PerChannel();
        return pixels.sub(mean).div(std).MoveToOuterDisposeScope();
    }

    /// <summary>Pixels in [0, 1] (not clamped) from normalised images [N, C, H, W]: x·std + mean.</summary>
    public Tensor Undo(Tensor normalized)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = PerChannel();
        return normalized.mul(std).Plus(mean).MoveToOuterDisposeScope();
    }

    private (Tensor Mean, Tensor Std) PerChannel() => (tensor(Mean).view(1, -1, 1, 1), tensor(Std).view(1, -1, 1, 1));
}

/// <summary>
/// Images kept as uint8 [N, C, H, W] (compact, exactly what is on disk) with int64 labels [N];
/// float tensors are made on demand with the dataset's normalisation.
/// </summary>
public sealed class Dataset : IDisposable
{
    public Dataset(Tensor imagesU8, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (imagesU8.dim() != 4 || imagesU8.dtype != ScalarType.Byte)
            throw new ArgumentException($"images must be uint8 [N, C, H, W], got {imagesU8.dtype} [{string.Join(", ", imagesU8.shape)}]");
        if (labels.dim() != 1 || labels.shape[0] != imagesU8.shape[0])
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] do not match {imagesU8.shape[0]} images");
        ImagesU8 = imagesU8;
        Labels = labels.to_type(ScalarType.Int64);
        ClassNames = classNames;
    }

    public Tensor ImagesU8 { get; }
    public Tensor Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public long Count => ImagesU8.shape[0];
    public int NumClasses => ClassNames.Count;
    public long Channels => ImagesU8.shape[1];
    public long Height => ImagesU8.shape[2];
    public long Width => ImagesU8.shape[3];

    /// <summary>Normalised float32 images [n, C, H, W] for the given indices (all when null).</summary>
    public Tensor Floats(Normalization norm, Tensor? indices = null)
    {
        using var scope = NewDisposeScope();
        var x = indices is null ? ImagesU8 : ImagesU8.index_select(0, indices);
        var mean = tensor(norm.Mean).view(1, -1, 1, 1);
        var std = tensor(norm.Std).view(1, -1, 1, 1);
        return x.to_type(ScalarType.Float32).OverInPlace(255.0).sub_(mean).div_(std).MoveToOuterDisposeScope();
    }

    /// <summary>Indices of the samples of class c, in dataset order.</summary>
    public Tensor IndicesOf(int c) => Labels.EqualTo(c).nonzero().view(-1);

    /// <summary>Number of samples per class.</summary>
    public long[] ClassCounts() => Labels.bincount(null, NumClasses).data<long>().ToArray();

    public void Dispose()
    {
        ImagesU8.Dispose();
        Labels.Dispose();
    }
}

/// <summary>A train/test pair with the normalisation the papers use for it.</summary>
public sealed class DataSplit(string name, Dataset train, Dataset test, Normalization normalization) : IDisposable
{
    public string Name { get; } = name;
    public Dataset Train { get; } = train;
    public Dataset Test { get; } = test;
    public Normalization Normalization { get; } = normalization;

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}
