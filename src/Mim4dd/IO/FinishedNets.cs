using System.Text.Json;
using System.Text.Json.Serialization;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// Evaluation nets already trained, one JSON line each ({"Key"?, "Repeat", "Accuracy", "Seconds"}), appended as each net finishes,
/// so that a killed evaluation trains only the missing nets. A net's seeds depend only on (seed, repeat), so a line is
/// valid for any later evaluation with the same <paramref name="key"/> (set, arch, epochs, lr, augmentation, seed);
/// lines of other keys are kept untouched. A null <paramref name="path"/> keeps nothing (a set file outside a run directory).
/// </summary>
/// <param name="others">Logs of the same evaluation written by other processes (`eval --shard`), read as finished too,
/// never rewritten.</param>
public sealed class FinishedNets(string? path, string? key = null, IReadOnlyList<string>? others = null)
{
    // A net trained in bf16 is not an fp32 result: under bf16 the precision is part of the key (fp32 keys stay as they were).
    private readonly string? key = Runtime.ComputePrecision.Bf16 ? $"{key} bf16".TrimStart() : key;

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private sealed record Line(string? Key, int Repeat, double Accuracy, double Seconds);

    /// <summary>This key's nets by repeat (below <paramref name="repeats"/>). Rewrites the file without a line cut by a kill,
    /// so that the next net's line does not land after it.</summary>
    public Dictionary<int, FinishedNet> Read(int repeats)
    {
        var finished = new Dictionary<int, FinishedNet>();
        foreach (var other in others ?? [])
            if (File.Exists(other))
                foreach (var line in Lines(other))
                    Keep(line);
        if (path is null || !File.Exists(path)) return finished;
        var kept = Lines(path);
        foreach (var line in kept) Keep(line);
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(Serialize)));
        return finished;

        void Keep(Line line)
        {
            if (line.Key == key && line.Repeat < repeats) finished[line.Repeat] = new FinishedNet(line.Accuracy, line.Seconds);
        }
    }

    private static List<Line> Lines(string file)
    {
        var lines = new List<Line>();
        foreach (var text in File.ReadLines(file))
        {
            try
            {
                if (JsonSerializer.Deserialize<Line>(text) is { } line && double.IsFinite(line.Accuracy) && line.Repeat >= 0)
                    lines.Add(line);
            }
            catch (JsonException) { }   // a line cut by the kill
        }
        return lines;
    }

    public void Add(int repeat, FinishedNet net)
    {
        if (path is not null) File.AppendAllText(path, Serialize(new Line(key, repeat, net.Accuracy, net.Seconds)));
    }

    /// <summary>
    /// The one resumable evaluation (eval, coreset, distill): runs <paramref name="protocol"/> training only the nets not in
    /// <paramref name="finished"/> (this log's <see cref="Read"/>), adds each new net here as it finishes and tells
    /// <paramref name="onNet"/> (repeat, net, final training loss, ETA of the rest). A stop request ends it within an epoch
    /// with a <see cref="RunStoppedException"/> whose message <paramref name="stopped"/> gives (after saving what it must).
    /// </summary>
    public EvalResult Evaluate(EvalProtocol protocol, IReadOnlyDictionary<int, FinishedNet> finished, string arch, Tensor images,
        Tensor labels, Tensor testImages, Tensor testLabels, int numClasses, long seed, Action<int, FinishedNet, double, string> onNet,
        Func<string> stopped, Action<Net, NetWeights>? inspectFirst = null, CancellationToken stop = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int trained = 0;
        try
        {
            return protocol.Run(arch, images, labels, testImages, testLabels, numClasses, seed, (r, net, loss) =>
            {
                Add(r, net);
                onNet(r, net, loss, Eta.Text(++trained, protocol.Repeats - finished.Count, clock.Elapsed));
            }, inspectFirst, finished, stop);
        }
        catch (OperationCanceledException)
        {
            throw new RunStoppedException(stopped());
        }
    }

    private static string Serialize(Line line) => JsonSerializer.Serialize(line, Options) + "\n";
}
