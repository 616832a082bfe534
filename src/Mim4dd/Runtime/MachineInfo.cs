using System.Reflection;
using TorchSharp;

namespace Mim4dd.Runtime;

/// <summary>What produced a number: CPU model and vector features, threads, versions. Recorded with every run and benchmark.</summary>
public sealed record MachineInfo(string Cpu, string[] Features, int Cores, int Threads, string Version, string TorchSharp, string Os,
    string Precision, bool Deterministic)
{
    public static MachineInfo Current()
    {
        string cpu = "unknown";
        var features = Array.Empty<string>();
        if (File.Exists("/proc/cpuinfo"))
        {
            var lines = File.ReadLines("/proc/cpuinfo").Take(64).ToArray();
            string? Field(string name) => lines.FirstOrDefault(l => l.Split(':', 2)[0].Trim() == name)?.Split(':', 2)[1].Trim();
            cpu = Field("model name") ?? cpu;
            // VMs often show only "AMD EPYC": family and model tell a Zen 3 (25/1) from a Zen 4 (25/17) or a Zen 5 (26).
            if (Field("cpu family") is { } family && Field("model") is { } model) cpu += $" (family {family} model {model})";
            var flags = Field("flags")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
            features = flags.Where(f => f is "avx2" or "fma" or "avx512f" or "avx512_bf16" or "amx_bf16" or "avx512_vnni").ToArray();
        }
        var version = typeof(MachineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? "unknown";
        var torchVersion = typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";
        return new MachineInfo(cpu, features, Environment.ProcessorCount, torch.get_num_threads(), version, torchVersion,
            System.Runtime.InteropServices.RuntimeInformation.OSDescription, ComputePrecision.Name,
            TorchRuntime.Deterministic);
    }

    public bool HasBf16 => Features.Contains("avx512_bf16") || Features.Contains("amx_bf16");

    public override string ToString() =>
        $"{Cpu} ({string.Join(" ", Features)}), {Cores} cores, {Threads} threads{(Deterministic ? " (deterministic)" : "")}, "
            + $"{Precision}, mim4dd {Version}, TorchSharp {TorchSharp}";
}
