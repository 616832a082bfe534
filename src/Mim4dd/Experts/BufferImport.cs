using System.Collections;
using System.Text.RegularExpressions;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>
/// Brings the reference MTT code's experts into a store: its buffer.py saves every ten experts as
/// <c>replay_buffer_&lt;n&gt;.pt</c>, a list of experts, each a list of epochs (the first at initialisation), each the
/// list of the network's parameter tensors in module order. For the ConvNet family that order and every shape are
/// ours (conv weight and bias, norm weight and bias per block, then the classifier), so an epoch flattens to our
/// flat parameters; any other network is refused when a shape differs. Networks with BatchNorm are refused: the
/// buffers hold no running statistics.
/// </summary>
public static partial class BufferImport
{
    /// <summary>The seed of imported experts: the buffers do not record theirs.</summary>
    public const long UnknownSeed = -1;

    [GeneratedRegex(@"^replay_buffer_(\d+)\.pt$")]
    private static partial Regex BufferName();

    /// <summary>The buffer files of <paramref name="directory"/> in the order buffer.py numbered them.</summary>
    public static List<string> Files(string directory)
    {
        if (!Directory.Exists(directory))
            throw UserError.At(directory, "no such directory",
                "pass the folder holding replay_buffer_0.pt, … (buffer.py's --buffer_path/<dataset>/<model>)");
        var files = Directory.GetFiles(directory)
            .Select(path => (path, match: BufferName().Match(Path.GetFileName(path))))
            .Where(f => f.match.Success).OrderBy(f => long.Parse(f.match.Groups[1].Value)).Select(f => f.path).ToList();
        if (files.Count == 0)
            throw UserError.At(directory, "no replay_buffer_<n>.pt files here", "pass the folder buffer.py saved them in");
        return files;
    }

    /// <summary>Writes every expert of the buffer <paramref name="files"/> (<see cref="Files"/>) as expert_NNNN.m4e in
    /// <paramref name="store"/>, numbered in buffer order, and the store's store.json; the store appears whole or not at all
    /// (it is written beside it and renamed). Refuses a store folder that exists and is not empty.</summary>
    /// <param name="metadata">The training setup the buffers were made with (the reference's defaults unless told);
    /// its expert index and snapshot count are set per expert.</param>
    public static int Run(IReadOnlyList<string> files, string store, Net net, ExpertMetadata metadata, Action<string> log)
    {
        if (net.HasBatchNorm)
            throw UserError.At($"--arch {net.Name}", "has BatchNorm, whose running statistics the reference buffers do not hold",
                "import ConvNet-family experts");
        if (Directory.Exists(store) && Directory.EnumerateFileSystemEntries(store).Any())
            throw UserError.At(store, "exists and is not empty", "pass --out with a new or empty folder");
        var partial = store.TrimEnd(Path.DirectorySeparatorChar) + $".importing-{Environment.ProcessId}";
        Directory.CreateDirectory(partial);
        try
        {
            int count = Write(files, partial, net, metadata, log);
            if (Directory.Exists(store)) Directory.Delete(store);
            Directory.Move(partial, store);
            return count;
        }
        catch
        {
            Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    private static int Write(IReadOnlyList<string> files, string store, Net net, ExpertMetadata metadata, Action<string> log)
    {
        int count = 0;
        int? epochs = null;
        foreach (var file in files)
        {
            var experts = TorchFile.Load(file) as IList
                ?? throw UserError.At(file, "does not hold a list of experts", "pass buffers saved by the reference buffer.py");
            try
            {
                for (int inFile = 0; inFile < experts.Count; inFile++)
                {
                    using var scope = NewDisposeScope();
                    var snapshots = Snapshots(experts[inFile], net, $"{file}, expert {inFile}");
                    int snapshotCount = (int)snapshots.shape[0];
                    epochs ??= snapshotCount - 1;
                    if (snapshotCount - 1 != epochs)
                        throw UserError.At(file, $"an expert has {snapshotCount - 1} epochs, the first had {epochs}",
                            "import buffers of one training run");
                    var trajectory = new ExpertTrajectory(metadata with { ExpertIndex = count, Snapshots = snapshotCount,
                        ParameterCount = net.ParameterCount }, snapshots);
                    ExpertFile.Save(Path.Combine(store, ExpertStore.FileName(count)), trajectory);
                    count++;
                }
            }
            finally { DisposeTensors(experts); }
            log($"{file}: {count} experts so far");
        }
        ExpertStore.WriteConfig(store, new ExpertStoreConfig(metadata.Dataset, metadata.Arch, net.ParameterCount, 0, count, epochs ?? 0,
            metadata.LearningRate, metadata.BatchSize, metadata.Zca, metadata.DsaStrategy, metadata.Seed, metadata.Version));
        return count;
    }

    /// <summary>One expert (a list of epochs, each a list of parameter tensors) as float32 [epochs + 1, P].</summary>
    private static Tensor Snapshots(object? expert, Net net, string where)
    {
        if (expert is not IList { Count: > 0 } epochs)
            throw UserError.At(where, "is not a list of epochs", "pass buffers saved by the reference buffer.py");
        var rows = new List<Tensor>();
        for (int e = 0; e < epochs.Count; e++)
        {
            if (epochs[e] is not IList parameters || parameters.Count != net.Parameters.Count)
                throw UserError.At(where, $"epoch {e} holds {(epochs[e] as IList)?.Count ?? 0} tensors "
                    + $"where {net.Name} has {net.Parameters.Count} parameters",
                    "import with the --arch the buffers were trained with");
            for (int i = 0; i < parameters.Count; i++)
            {
                var spec = net.Parameters[i];
                if (parameters[i] is not Tensor t || !t.shape.SequenceEqual(spec.Shape))
                    throw UserError.At(where, $"epoch {e}, tensor {i}: shape [{string.Join(", ", (parameters[i] as Tensor)?.shape ?? [])}] "
                        + $"where {net.Name}'s {spec.Name} is [{string.Join(", ", spec.Shape)}]",
                        "import with the --arch and --dataset the buffers were trained with");
            }
            rows.Add(FlatParameters.Flatten(parameters.Cast<Tensor>().Select(p => p.to_type(ScalarType.Float32)).ToList()));
        }
        return stack(rows).MoveToOuterDisposeScope();
    }

    private static void DisposeTensors(object? value)
    {
        if (value is Tensor tensor) tensor.Dispose();
        else if (value is IList list) foreach (var item in list) DisposeTensors(item);
    }
}
