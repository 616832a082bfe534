using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Bench;

/// <summary>
/// Seconds to evaluate a synthetic set with the protocol (R ConvNet-3 trainings with DSA, then the test set), on
/// generated CIFAR-10-shaped tensors at several IPC. Fewer epochs than the papers' 1000 keep it short; the
/// figures are per network-epoch, so they scale.
/// </summary>
public static class EvalBench
{
    public sealed record Row(int Ipc, int Repeats, int Epochs, double Seconds, double SecondsPerNetEpoch, double TrainGigaFlops,
        double AchievedGflops);

    public static BenchReport Run(IReadOnlyList<int> ipcs, int repeats, int epochs, int testImages, Action<string> log)
    {
        const int classes = 10;
        var input = new InputShape(3, 32, 32);
        double forward = NetRegistry.Build("ConvNet", input, classes).ForwardFlops(input) / 1e9;
        using var testX = randn(new long[] { testImages, 3, 32, 32 }, generator: Rng.Torch(9));
        using var testY = arange(testImages).remainder(classes);
        var rows = new List<Row>();
        foreach (int ipc in ipcs)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { ipc * classes, 3, 32, 32 }, generator: Rng.Torch(ipc));
            var y = arange(classes).repeat_interleave(ipc);
            var protocol = new EvalProtocol { Repeats = repeats, Epochs = epochs, Augment = new Dsa(Dsa.Default) };
            var result = protocol.Run("ConvNet", x, y, testX, testY, classes, seed: 0);
            // E + 1 passes over the set, fwd + bwd = 3 × forward per image; the test pass is 1 × forward per test image.
            double train = repeats * (epochs + 1.0) * ipc * classes * 3 * forward + repeats * testImages * forward;
            var row = new Row(ipc, repeats, epochs, result.Seconds, result.Seconds / (repeats * (epochs + 1.0)), train,
                train / result.Seconds);
            log($"IPC {ipc,-3}: {repeats} nets × {epochs + 1} epochs in {result.Seconds:F1} s "
                + $"({1000 * row.SecondsPerNetEpoch:F1} ms per net-epoch), {row.AchievedGflops:F1} GFLOP/s");
            rows.Add(row);
        }
        return new BenchReport("eval", DateTime.UtcNow, MachineInfo.Current(),
            new { shape = "cifar10", ipcs, repeats, epochs, testImages, augment = "dsa" }, rows.Cast<object>().ToList());
    }
}
