using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mim4dd.Distill;
using Mim4dd.Runtime;

namespace Mim4dd.Bench;

/// <summary>
/// Naive vs reverse trajectory-matching gradient: seconds per gradient and peak memory for several step counts.
/// Peak RSS only grows within a process, so every (path, steps) runs in a child process of its own.
/// </summary>
public static class UnrollBench
{
    public sealed record Measurement(string Path, int Steps, double[] Seconds, double BaselineRssMb, double PeakRssMb);

    /// <summary>One configuration; <paramref name="Skipped"/> says why it was not measured (then the figures are 0).</summary>
    public sealed record Row(string Path, int Steps, double SecondsMin, double SecondsMedian, double PeakRssMb, double WorkingMb,
        double GigaFlops, double AchievedGflops, string? Skipped = null);

    /// <summary>A configuration whose predicted peak exceeds this share of RAM is skipped rather than left to the OOM killer.</summary>
    private const double MemoryShare = 0.85;

    public static readonly string[] Paths = ["naive", "reverse", "first-order"];

    /// <summary>Runs in the child: one (path, steps) configuration, then reports VmHWM.</summary>
    public static Measurement Measure(string path, int steps, string shape, int imagesPerClass, int repeats, string arch)
    {
        if (!Paths.Contains(path)) throw UserError.At("--single", $"unknown path '{path}'", $"use {string.Join(", ", Paths)}");
        double baseline = Status("VmRSS");
        using var work = new MatchingWorkload(shape, imagesPerClass, arch);
        var seconds = new List<double>();
        for (int r = -1; r < repeats; r++)   // one warm-up
        {
            var clock = Stopwatch.StartNew();
            var unroll = work.Unroll(steps, seed: r + 1);
            using (TrajectoryMatching.Compute(path, unroll)) { }
            unroll.LearningRate.Dispose();
            if (r >= 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return new Measurement(path, steps, seconds.ToArray(), baseline, Status("VmHWM"));
    }

    public static BenchReport Run(IReadOnlyList<int> stepCounts, string shape, int imagesPerClass, int repeats, string arch,
        string[] childCommand, Action<string> log)
    {
        var rows = new List<Row>();
        using var work = new MatchingWorkload(shape, imagesPerClass, arch);
        foreach (var path in Paths)
            foreach (int steps in stepCounts)
            {
                var measured = rows.Where(r => r.Path == path && r.Skipped is null).ToList();
                double predicted = PredictPeakMb(measured, steps);
                if (predicted > MemoryShare * MemoryTotalMb())
                {
                    var reason = $"predicted peak RSS {predicted / 1024:F1} GB (linear in N from the rows above) exceeds {MemoryShare:P0} "
                        + $"of this machine's {MemoryTotalMb() / 1024:F1} GB";
                    log($"{path,-7} N={steps,-3}: skipped, {reason}");
                    rows.Add(new Row(path, steps, 0, 0, 0, 0, work.GigaFlops(path, steps), 0, reason));
                    continue;
                }
                var m = RunChild(childCommand, $"{path}:{steps}", shape, imagesPerClass, repeats, work.Net.Name);
                var (min, median) = BenchReport.Summarize(m.Seconds);
                double flops = work.GigaFlops(path, steps);
                var row = new Row(path, steps, min, median, m.PeakRssMb, m.PeakRssMb - m.BaselineRssMb, flops, flops / median);
                log($"{path,-7} N={steps,-3}: {median:F2} s/gradient (min {min:F2}), peak RSS {row.PeakRssMb:F0} MB, "
                    + $"{row.AchievedGflops:F1} GFLOP/s (≈{flops:F0} GFLOP)");
                rows.Add(row);
            }
        var ratios = Paths.ToDictionary(p => p, p =>
        {
            var own = rows.Where(r => r.Path == p && r.Skipped is null).OrderBy(r => r.Steps).ToList();
            return own.Count > 1 ? own[^1].PeakRssMb / own[0].PeakRssMb : 1.0;
        });
        foreach (var (p, ratio) in ratios)
        {
            var own = rows.Where(r => r.Path == p && r.Skipped is null).Select(r => r.Steps).ToList();
            if (own.Count > 1) log($"{p}: peak RSS at N={own.Max()} is {ratio:F2}× that at N={own.Min()}");
        }
        return new BenchReport("unroll", DateTime.UtcNow, MachineInfo.Current(),
            new { shape, arch = work.Net.Name,
                  ipc = imagesPerClass, batch_syn = "all", steps = stepCounts, repeats, peak_ratio_last_over_first = ratios },
            rows.Cast<object>().ToList());
    }

    private static Measurement RunChild(string[] command, string single, string shape, int imagesPerClass, int repeats, string arch)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false };
        foreach (var a in command.Skip(1).Concat(["bench", "unroll", "--single", single, "--shape", shape,
            "--ipc", imagesPerClass.ToString(CultureInfo.InvariantCulture),
            "--repeats", repeats.ToString(CultureInfo.InvariantCulture), "--arch", arch])) info.ArgumentList.Add(a);
        using var child = Process.Start(info)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        var json = lines.LastOrDefault(l => l.StartsWith('{'));
        if (child.ExitCode != 0 || json is null)
            throw new RunFailedException($"bench child '{single}' failed (exit {child.ExitCode}): "
                + $"{stderr.Result.Trim().Split('\n').LastOrDefault()}");
        return JsonSerializer.Deserialize<Measurement>(json)!;
    }

    /// <summary>Peak RSS at <paramref name="steps"/> extrapolated linearly from the measured rows (0 with none).</summary>
    public static double PredictPeakMb(IReadOnlyList<Row> measured, int steps)
    {
        if (measured.Count == 0) return 0;
        var last = measured[^1];
        if (measured.Count == 1) return last.PeakRssMb * steps / last.Steps;
        var before = measured[^2];
        double slope = (last.PeakRssMb - before.PeakRssMb) / (last.Steps - before.Steps);
        return last.PeakRssMb + Math.Max(0, slope) * (steps - last.Steps);
    }

    private static double MemoryTotalMb()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>A memory line of /proc/self/status in MB (VmRSS now, VmHWM = peak).</summary>
    private static double Status(string key)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }
}
