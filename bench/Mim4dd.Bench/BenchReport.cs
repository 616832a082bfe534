using System.Text.Json;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Bench;

/// <summary>One benchmark's JSON: what ran, on which machine, and its rows (min/median over repeats).</summary>
public sealed record BenchReport(string Benchmark, DateTime When, MachineInfo Machine, object Settings, IReadOnlyList<object> Rows)
{
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, RunDirectory.Json));

    public static (double Min, double Median) Summarize(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return (sorted[0], sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2);
    }
}
