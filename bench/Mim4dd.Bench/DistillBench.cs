using Mim4dd.Distill;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Bench;

/// <summary>
/// Seconds per distillation iteration of every method at one IPC on data of the given shapes (generated tensors),
/// each with its defaults (DC/DSA: 10 outer × 50 inner steps per iteration; BPTT and MTT: N student steps).
/// </summary>
public static class DistillBench
{
    public sealed record Row(string Shape, string Method, int Ipc, int SynSteps, int Iterations, double SecondsMin, double SecondsMedian,
        double? GigaFlops, double? AchievedGflops, long RssMaxMb);


    /// <param name="batchSyn">Synthetic minibatch per student step of MTT, MIM4DD and BPTT (null: all images, the reference
    /// default).</param>
    public static BenchReport Run(IReadOnlyList<string> methods, IReadOnlyList<string> shapes, int ipc, int synSteps, int iterations,
        string arch, Action<string> log, int? batchSyn = null)
    {
        var rows = new List<Row>();
        foreach (var shape in shapes)
        {
            using var work = new MatchingWorkload(shape, ipc, arch);
            var (seconds, rss) = Interleaved(work, methods, ipc, synSteps, iterations, batchSyn, log);
            foreach (var method in methods)
            {
                var (min, median) = BenchReport.Summarize(seconds[method].ToArray());
                // Unroll FLOPs are analytic for the trajectory methods only; DC/DM work depends on loops and real batches.
                double? flops = method is "mtt" or "mim4dd" or "bptt" ? work.GigaFlops("reverse", synSteps, batchSyn) : null;
                rows.Add(new Row(shape, method, ipc, synSteps, iterations, min, median, flops, flops / median, rss[method]));
                log($"{shape,-8} {method,-6} IPC {ipc}: {median:F2} s/iteration (min {min:F2}), RSS ≤ {rss[method]} MB"
                    + (flops is { } f ? $", {f / median:F1} GFLOP/s (unroll FLOPs only)" : ""));
            }
            var mtt = rows.FirstOrDefault(r => r.Shape == shape && r.Method == "mtt");
            var mim = rows.FirstOrDefault(r => r.Shape == shape && r.Method == "mim4dd");
            if (mtt is not null && mim is not null)
                log($"{shape}: MIM adds {100 * (mim.SecondsMin / mtt.SecondsMin - 1):F1} % to an MTT iteration by the fastest iterations "
                    + $"({100 * (mim.SecondsMedian / mtt.SecondsMedian - 1):F1} % by the medians, "
                    + $"which iteration-to-iteration spread can swamp)");
        }
        var overhead = rows.GroupBy(r => r.Shape).Where(g => g.Any(r => r.Method == "mtt") && g.Any(r => r.Method == "mim4dd"))
            .ToDictionary(g => g.Key, g => g.Single(r => r.Method == "mim4dd").SecondsMedian
                / g.Single(r => r.Method == "mtt").SecondsMedian);
        return new BenchReport("distill", DateTime.UtcNow, MachineInfo.Current(),
            new { methods, shapes, arch = NetRegistry.Get(arch).Name,
                  ipc, syn_steps = synSteps, iterations, batch_syn = batchSyn?.ToString() ?? "all", unroll = "reverse",
                  mim_over_mtt = overhead,
                  rss = "largest process working set seen after any iteration of the method (the process is shared, so an upper bound)" },
            rows.Cast<object>().ToList());
    }

    /// <summary>
    /// One iteration of each method in turn, round after round (the first round is warm-up): the heap growth, page
    /// faults and clock drift of a long run fall on every method alike instead of on whichever runs first.
    /// </summary>
    private static (Dictionary<string, List<double>> Seconds, Dictionary<string, long> RssMb) Interleaved(
        MatchingWorkload work, IReadOnlyList<string> methods, int ipc, int synSteps, int iterations, int? batchSyn, Action<string> log)
    {
        var mttOptions = new MttOptions { ImagesPerClass = ipc, SynSteps = synSteps, ExpertEpochs = 2, MaxStartEpoch = 1,
            BatchSyn = batchSyn };
        var states = methods.ToDictionary(m => m, _ =>
            new DistillState(work.Images.detach().clone().requires_grad_(), work.Labels.clone(), tensor(0.01f), 0));
        var addOns = methods.ToDictionary(m => m, m => m == "mim4dd"
            ? new MimAddOn(work.Net, work.Expert.Snapshot(0), work.Real, work.RealImages, new MimOptions { WarmupIterations = 0 },
                32, 0, work.Dataset)
            : null);
        var seconds = methods.ToDictionary(m => m, _ => new List<double>());
        var rss = methods.ToDictionary(m => m, _ => 0L);
        try
        {
            for (int round = 0; round <= iterations; round++)
                foreach (var method in methods)
                {
                    var timer = new Timer();
                    var state = states[method];
                    int total = round + 1;
                    switch (method)
                    {
                        case "mtt" or "mim4dd":
                            Mtt.Run(work.Net, [work.Expert], state, mttOptions with { Iterations = total }, work.Dataset, timer,
                                addOns[method]);
                            break;
                        case "bptt":
                            Bptt.Run(work.Net, work.Real, work.RealImages, state,
                                new BpttOptions { ImagesPerClass = ipc, SynSteps = synSteps, BatchSyn = batchSyn, Iterations = total },
                                work.Dataset, timer);
                            break;
                        case "dm":
                            Dm.Run(work.Net, work.Real, work.RealImages, state, new DmOptions { ImagesPerClass = ipc, Iterations = total },
                                work.Dataset, timer);
                            break;
                        default:
                            Dc.Run(work.Net, work.Real, work.RealImages, state,
                                new DcOptions { ImagesPerClass = ipc, Siamese = method == "dsa", Iterations = total }, work.Dataset, timer);
                            break;
                    }
                    if (round > 0) seconds[method].AddRange(timer.Seconds);
                    // DC/DSA iterations take minutes each: show that the bench is alive.
                    log($"  {work.Dataset} {method} {(round == 0 ? "warm-up" : $"iteration {round}/{iterations}")}: "
                        + $"{timer.Seconds.Sum():F1} s");
                    rss[method] = Math.Max(rss[method], Environment.WorkingSet / 1048576);
                }
        }
        finally
        {
            foreach (var state in states.Values) state.Dispose();
            foreach (var addOn in addOns.Values) addOn?.Dispose();
        }
        return (seconds, rss);
    }

    private sealed class Timer : IDistillObserver
    {
        public List<double> Seconds { get; } = new();
        public void Iteration(IterationMetrics metrics, DistillState state) => Seconds.Add(metrics.Seconds);
    }
}
