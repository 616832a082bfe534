using System.Globalization;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>
/// An expert stopped part-way: its trajectory so far as an expert file (<c>partial_NNNN.m4e</c>, the epochs done)
/// and what training needs to go on to the same bytes (<c>partial_NNNN.state.safetensors</c>: the training
/// generator's state and the network's buffers). Without it a stop loses the whole expert (CIFAR-10: 20–40 min).
/// </summary>
public sealed class PartialExpert(ExpertTrajectory trajectory, Tensor generatorState, List<Tensor> buffers) : IDisposable
{
    public ExpertTrajectory Trajectory { get; } = trajectory;
    public Tensor GeneratorState { get; } = generatorState;
    public List<Tensor> Buffers { get; } = buffers;

    public static string TrajectoryPath(string directory, int expertIndex) =>
        Path.Combine(directory, $"partial_{expertIndex:D4}{ExpertFile.Extension}");
    private static string StatePath(string trajectoryPath) => Path.ChangeExtension(trajectoryPath, ".state.safetensors");

    /// <summary>Writes the state first: a kill between the two files leaves a pair whose epochs disagree, which
    /// <see cref="TryLoad"/> ignores.</summary>
    public static void Save(string path, ExpertTrajectory trajectory, Tensor generatorState, IReadOnlyList<Tensor> buffers)
    {
        var tensors = new Dictionary<string, Tensor> { ["generator_state"] = generatorState };
        for (int i = 0; i < buffers.Count; i++) tensors[$"buffer.{i}"] = buffers[i];
        SafeTensors.Save(StatePath(path), tensors, new Dictionary<string, string> { ["epochs_done"] = Text(trajectory.Epochs) });
        ExpertFile.Save(path, trajectory);
    }

    /// <summary>
    /// The partial expert at <paramref name="path"/> if it continues <paramref name="expected"/> (same training, fewer
    /// epochs); otherwise null, with the reason logged: the expert then trains from the start and overwrites it.
    /// </summary>
    public static PartialExpert? TryLoad(string path, ExpertMetadata expected, int bufferCount, Action<string> log)
    {
        if (!File.Exists(path)) return null;
        ExpertTrajectory? trajectory = null;
        Dictionary<string, Tensor>? tensors = null;
        try
        {
            trajectory = ExpertFile.Load(path);
            var (state, metadata) = SafeTensors.Load(StatePath(path));
            tensors = state;
            var m = trajectory.Metadata;
            var comparable = m with { Snapshots = expected.Snapshots, Version = expected.Version, EpochLoss = expected.EpochLoss,
                TestAccuracy = expected.TestAccuracy };
            string? problem =
                comparable != expected ? "it was trained with other options"
                : m.Epochs > expected.Epochs || m.EpochLoss.Length != m.Epochs
                    ? $"its {m.Epochs} epochs ({m.EpochLoss.Length} losses) do not fit this expert's {expected.Epochs}"
                : metadata.GetValueOrDefault("epochs_done") != Text(m.Epochs)
                    ? "its two files are from different epochs (stopped while saving)"
                : !state.ContainsKey("generator_state") || Enumerable.Range(0, bufferCount).Any(i => !state.ContainsKey($"buffer.{i}"))
                    ? "its state file is incomplete"
                : null;
            if (problem is null)
            {
                var buffers = Enumerable.Range(0, bufferCount).Select(i => state[$"buffer.{i}"]).ToList();
                foreach (var unused in state.Values.Except([state["generator_state"], .. buffers])) unused.Dispose();
                return new PartialExpert(trajectory, state["generator_state"], buffers);
            }
            log($"ignoring {Path.GetFileName(path)}: {problem}; training this expert from the start");
        }
        catch (UserError e)
        {
            log($"ignoring {Path.GetFileName(path)} ({e.Message}); training this expert from the start");
        }
        trajectory?.Dispose();
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>()) t.Dispose();
        return null;
    }

    public static void Delete(string path)
    {
        File.Delete(StatePath(path));
        File.Delete(path);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Trajectory.Dispose();
        GeneratorState.Dispose();
        foreach (var t in Buffers) t.Dispose();
    }
}
