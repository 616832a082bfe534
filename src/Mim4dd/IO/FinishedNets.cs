using System.Text.Json;
using System.Text.Json.Serialization;
using Mim4dd.Train;

namespace Mim4dd.IO;

/// <summary>
/// Evaluation nets already trained, one JSON line each ({"Key"?, "Repeat", "Accuracy", "Seconds"}), appended as each net finishes,
/// so that a killed evaluation trains only the missing nets. A net's seeds depend only on (seed, repeat), so a line is
/// valid for any later evaluation with the same <paramref name="key"/> (set, arch, epochs, lr, augmentation, seed);
/// lines of other keys are kept untouched.
/// </summary>
public sealed class FinishedNets(string path, string? key = null)
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
        if (!File.Exists(path)) return finished;
        var kept = new List<Line>();
        foreach (var text in File.ReadLines(path))
        {
            try
            {
                if (JsonSerializer.Deserialize<Line>(text) is not { } line || !double.IsFinite(line.Accuracy) || line.Repeat < 0) continue;
                kept.Add(line);
                if (line.Key == key && line.Repeat < repeats) finished[line.Repeat] = new FinishedNet(line.Accuracy, line.Seconds);
            }
            catch (JsonException) { }   // a line cut by the kill
        }
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(Serialize)));
        return finished;
    }

    public void Add(int repeat, FinishedNet net) => File.AppendAllText(path, Serialize(new Line(key, repeat, net.Accuracy, net.Seconds)));

    private static string Serialize(Line line) => JsonSerializer.Serialize(line, Options) + "\n";
}
