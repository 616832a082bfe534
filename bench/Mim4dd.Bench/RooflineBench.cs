using System.Diagnostics;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Bench;

/// <summary>The matmul ceiling of this machine in the same run: square fp32 and bf16 matmuls, GFLOP/s = 2n³ / t.</summary>
public static class RooflineBench
{
    public sealed record Row(string Precision, int Size, int Repeats, double SecondsMin, double SecondsMedian, double Gflops,
        string? Skipped = null);

    public static BenchReport Run(int size, int repeats, Action<string> log)
    {
        var machine = MachineInfo.Current();
        var rows = new List<Row> { Measure(ScalarType.Float32, "fp32", size, repeats, log) };
        if (machine.HasBf16) rows.Add(Measure(ScalarType.BFloat16, "bf16", size, repeats, log));
        else
        {
            const string reason = "no avx512_bf16 / amx_bf16 on this CPU: bf16 would be emulated, hundreds of times slower";
            log($"bf16: skipped, {reason}");
            rows.Add(new Row("bf16", size, repeats, 0, 0, 0, reason));
        }
        if (rows.Count == 2 && rows[1].Skipped is null) log($"bf16 / fp32 = {rows[1].Gflops / rows[0].Gflops:F2}×");
        return new BenchReport("roofline", DateTime.UtcNow, machine, new { size, repeats }, rows.Cast<object>().ToList());
    }

    private static Row Measure(ScalarType dtype, string name, int size, int repeats, Action<string> log)
    {
        using var scope = NewDisposeScope();
        var a = randn(new long[] { size, size }, generator: Rng.Torch(1)).to_type(dtype);
        var b = randn(new long[] { size, size }, generator: Rng.Torch(2)).to_type(dtype);
        var seconds = new List<double>();
        for (int r = -1; r < repeats; r++)   // one warm-up
        {
            using var inner = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var c = a.matmul(b);
            _ = c[0, 0].to_type(ScalarType.Float32).item<float>();   // wait for the result
            if (r >= 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        var (min, median) = BenchReport.Summarize(seconds);
        double gflops = 2.0 * size * size * size / 1e9 / median;
        log($"{name} matmul {size}×{size}: {median * 1000:F1} ms (min {min * 1000:F1}), {gflops:F1} GFLOP/s");
        return new Row(name, size, repeats, min, median, gflops);
    }
}
