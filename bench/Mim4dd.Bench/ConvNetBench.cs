using System.Diagnostics;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Bench;

/// <summary>ConvNet-3 forward+backward+SGD step throughput; FLOPs counted analytically (backward ≈ 2× forward).</summary>
public static class ConvNetBench
{
    public sealed record Row(string Input, string Precision, int Batch, int Steps, double SecondsPerStepMin, double SecondsPerStepMedian,
        double ImagesPerSecond, double ForwardGflopPerImage, double AchievedGflops);

    /// <summary>fp32 rows, then bf16 rows where the CPU has native bf16 (the precision in force is restored afterwards).</summary>
    public static BenchReport Run(int batch, int steps, Action<string> log)
    {
        var rows = new List<object>();
        var before = ComputePrecision.Name;
        var precisions = MachineInfo.Current().HasBf16 ? new[] { "fp32", "bf16" } : new[] { "fp32" };
        if (precisions.Length == 1) log("bf16: skipped, no avx512_bf16 / amx_bf16 on this CPU");
        try
        {
            foreach (var precision in precisions)
            {
                ComputePrecision.Set(precision);
                rows.AddRange(Measure(batch, steps, precision, log));
            }
        }
        finally { ComputePrecision.Set(before); }
        return new BenchReport("convnet", DateTime.UtcNow, MachineInfo.Current(), new { batch, steps, precisions }, rows);
    }

    private static IEnumerable<Row> Measure(int batch, int steps, string precision, Action<string> log)
    {
        foreach (var input in new[] { new InputShape(1, 28, 28), new InputShape(3, 32, 32) })
        {
            var net = ConvNet.Build("ConvNet", input, 10);
            using var weights = net.Initialize(Rng.Torch(0));
            using var x = randn(new long[] { batch, input.Channels, input.Height, input.Width }, generator: Rng.Torch(1));
            using var y = randint(0, 10, new long[] { batch }, generator: Rng.Torch(2));
            var times = new List<double>();
            for (int s = -2; s < steps; s++)   // two warm-up steps
            {
                var clock = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    var loss = F.cross_entropy(net.Forward(weights.Parameters, x), y);
                    var grads = autograd.grad(new[] { loss }, weights.Parameters);
                    using var noGrad = no_grad();
                    for (int i = 0; i < grads.Count; i++) weights.Parameters[i].add_(grads[i], alpha: -0.001);
                }
                if (s >= 0) times.Add(clock.Elapsed.TotalSeconds);
            }
            var (min, median) = BenchReport.Summarize(times);
            double forward = net.ForwardFlops(input) / 1e9;
            var row = new Row($"{input.Channels}x{input.Height}x{input.Width}", precision, batch, steps, min, median, batch / median,
                forward, 3 * forward * batch / median);
            log($"ConvNet-3 {row.Input} {precision} batch {batch}: {row.SecondsPerStepMedian:F3} s/step (min {min:F3}), "
                + $"{row.ImagesPerSecond:F0} images/s, {row.AchievedGflops:F1} GFLOP/s");
            yield return row;
        }
    }
}
