using Mim4dd.Runtime;

namespace Mim4dd.Nets;

/// <summary>Network names (case-insensitive) to builders, as the DC code's get_network.</summary>
public static class NetRegistry
{
    public sealed record Entry(string Description, Func<InputShape, int, Net> Build);

    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ConvNet"] = new("ConvNet-3, width 128, instance norm, ReLU, avg pool", (i, k) => ConvNet.Build("ConvNet", i, k)),
    };

    public static IEnumerable<string> Names => Entries.Keys;

    public static Net Build(string name, InputShape input, int numClasses) =>
        Entries.TryGetValue(name, out var entry) ? entry.Build(input, numClasses)
            : throw UserError.At($"network {name}", "unknown network", $"use one of: {string.Join(", ", Entries.Keys)}");
}
