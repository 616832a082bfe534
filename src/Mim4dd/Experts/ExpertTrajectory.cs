using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>What an expert trajectory is: how it was trained, and what it holds. Stored as the expert file's JSON header.</summary>
public sealed record ExpertMetadata(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("parameter_count")] long ParameterCount,
    [property: JsonPropertyName("snapshots")] int Snapshots,
    [property: JsonPropertyName("lr_teacher")] double LearningRate,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("zca")] bool Zca,
    [property: JsonPropertyName("dsa_strategy")] string DsaStrategy,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("expert_index")] int ExpertIndex,
    [property: JsonPropertyName("mim4dd_version")] string Version,
    [property: JsonPropertyName("epoch_loss")] double[] EpochLoss,
    [property: JsonPropertyName("test_accuracy")] double? TestAccuracy)
{
    /// <summary>Training epochs: one snapshot at initialisation, one after each epoch.</summary>
    [JsonIgnore] public int Epochs => Snapshots - 1;
}

/// <summary>
/// One expert: the flat parameters of a network at initialisation and after every epoch of training on
/// real data, float32 [epochs + 1, P]. Owns <see cref="Snapshots"/>.
/// </summary>
public sealed record ExpertTrajectory : IDisposable
{
    public ExpertTrajectory(ExpertMetadata metadata, Tensor snapshots)
    {
        if (snapshots.dtype != ScalarType.Float32 || snapshots.dim() != 2
            || snapshots.shape[0] != metadata.Snapshots || snapshots.shape[1] != metadata.ParameterCount)
            throw new ArgumentException(
                $"snapshots must be float32 [{metadata.Snapshots}, {metadata.ParameterCount}], "
                    + $"got {snapshots.dtype} [{string.Join(", ", snapshots.shape)}]");
        Metadata = metadata;
        Snapshots = snapshots;
    }

    public ExpertMetadata Metadata { get; }

    /// <summary>float32 [epochs + 1, P]; row e = parameters after e epochs.</summary>
    public Tensor Snapshots { get; }

    public int Epochs => Metadata.Epochs;

    /// <summary>The flat parameters after <paramref name="epoch"/> epochs (0 = initialisation), a 1-D view [P].</summary>
    public Tensor Snapshot(int epoch)
    {
        if (epoch < 0 || epoch > Epochs)
            throw new ArgumentOutOfRangeException(nameof(epoch), $"epoch {epoch} is not in 0..{Epochs}");
        return Snapshots[epoch];
    }

    public void Dispose() => Snapshots.Dispose();
}
