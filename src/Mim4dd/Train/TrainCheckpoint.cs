using System.Globalization;
using System.Text.Json;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Train;

/// <summary>
/// A whole-data training after its last finished epoch: weights, buffers, momentum, the training generator's state and the
/// losses so far, in one safetensors file written after every epoch. A CIFAR-10 training runs for hours at one thread; a
/// stop then loses at most the epoch under way, and the same command continues it to the bytes of an unbroken run.
/// <paramref name="Identity"/> names the training (its options); a checkpoint of another training is refused, not mixed in.
/// </summary>
public sealed record TrainCheckpoint(string Path, string Identity)
{
    public void Save(NetWeights weights, SgdState sgd, Generator generator, IReadOnlyList<double> losses, double seconds)
    {
        using var generatorState = generator.get_state();
        var tensors = new Dictionary<string, Tensor> { ["generator_state"] = generatorState };
        Put(tensors, "parameter", weights.Parameters);
        Put(tensors, "buffer", weights.Buffers);
        Put(tensors, "velocity", sgd.Velocity);
        SafeTensors.Save(Path, tensors, new Dictionary<string, string>
        {
            ["identity"] = Identity, ["epochs_done"] = sgd.EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["losses"] = JsonSerializer.Serialize(losses), ["seconds"] = seconds.ToString("R", CultureInfo.InvariantCulture),
        });
    }

    /// <summary>Loads the checkpoint, if there is one, into the training state; returns the losses and seconds so far.</summary>
    public (List<double> Losses, double Seconds)? TryContinue(NetWeights weights, SgdState sgd, Generator generator)
    {
        if (!File.Exists(Path)) return null;
        var (tensors, metadata) = SafeTensors.Load(Path);
        try
        {
            if (metadata.GetValueOrDefault("identity") != Identity)
                throw UserError.At(Path, "is the checkpoint of a training with other options or data",
                    "pass the options of that training to continue it, or another --out");
            using var noGrad = no_grad();
            Copy(tensors, "parameter", weights.Parameters);
            Copy(tensors, "buffer", weights.Buffers);
            for (int i = 0; i < sgd.Velocity.Length; i++)
                sgd.Velocity[i] = tensors.TryGetValue($"velocity.{i}", out var v) ? v.clone().DetachFromDisposeScope() : null;
            generator.set_state(tensors["generator_state"]);
            sgd.EpochsDone = int.Parse(metadata["epochs_done"], CultureInfo.InvariantCulture);
            return (JsonSerializer.Deserialize<List<double>>(metadata["losses"])!,
                double.Parse(metadata["seconds"], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException or JsonException)
        {
            throw UserError.At(Path, $"is not a complete training checkpoint ({e.Message})", "delete it to train from the start");
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static void Put(Dictionary<string, Tensor> tensors, string kind, IReadOnlyList<Tensor?> values)
    {
        for (int i = 0; i < values.Count; i++)
            if (values[i] is { } t) tensors[$"{kind}.{i}"] = t;
    }

    private static void Copy(Dictionary<string, Tensor> tensors, string kind, IReadOnlyList<Tensor> into)
    {
        for (int i = 0; i < into.Count; i++)
        {
            var saved = tensors[$"{kind}.{i}"];
            if (!saved.shape.SequenceEqual(into[i].shape)) throw new FormatException($"{kind}.{i} has another shape");
            into[i].copy_(saved);
        }
    }
}
