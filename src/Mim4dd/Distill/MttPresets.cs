using Mim4dd.Runtime;

namespace Mim4dd.Distill;

/// <summary>Named presets: the MTT paper's settings (its Table of hyper-parameters and public scripts) and MNIST settings
/// derived here.</summary>
public static class MttPresets
{
    public sealed record Preset(string Dataset, MttOptions Options, string Source);

    private static readonly Dictionary<string, Preset> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cifar10-ipc1"] = new("cifar10", new() { ImagesPerClass = 1, SynSteps = 50, ExpertEpochs = 2, MaxStartEpoch = 2,
                LrImg = 1000, LrLr = 1e-7, LrTeacher = 0.01, Zca = true },
            "MTT CIFAR-10 IPC 1 (author settings as republished by TESLA; lr_img 1000 as the public scripts)"),
        ["cifar10-ipc10"] = new("cifar10", new() { ImagesPerClass = 10, SynSteps = 30, ExpertEpochs = 2, MaxStartEpoch = 20,
                LrImg = 1000, LrLr = 1e-5, LrTeacher = 0.01, Zca = true },
            "MTT CIFAR-10 IPC 10 (public scripts: lr_img 1000, lr_teacher 0.01; TESLA lists 100 / 0.001)"),
        ["cifar10-ipc50"] = new("cifar10", new() { ImagesPerClass = 50, SynSteps = 30, ExpertEpochs = 2, MaxStartEpoch = 40,
                LrImg = 1000, LrLr = 1e-5, LrTeacher = 0.01, Zca = false },
            "MTT CIFAR-10 IPC 50"),
        ["cifar100-ipc1"] = new("cifar100", new() { ImagesPerClass = 1, SynSteps = 20, ExpertEpochs = 3, MaxStartEpoch = 20,
                LrImg = 1000, LrLr = 1e-5, LrTeacher = 0.01, Zca = true },
            "MTT CIFAR-100 IPC 1 (reference README)"),
        ["cifar100-ipc10"] = new("cifar100", new() { ImagesPerClass = 10, SynSteps = 20, ExpertEpochs = 2, MaxStartEpoch = 20,
                LrImg = 1000, LrLr = 1e-5, LrTeacher = 0.01, Zca = false },
            "MTT CIFAR-100 IPC 10 (reference README)"),
        ["cifar100-ipc50"] = new("cifar100", new() { ImagesPerClass = 50, SynSteps = 80, ExpertEpochs = 2, MaxStartEpoch = 40,
                LrImg = 1000, LrLr = 1e-5, LrTeacher = 0.01, BatchSyn = 125, Zca = true },
            "MTT CIFAR-100 IPC 50 (reference README)"),
        ["mnist-ipc1"] = new("mnist", new() { ImagesPerClass = 1, SynSteps = 50, ExpertEpochs = 2, MaxStartEpoch = 2,
                LrImg = 100, LrLr = 1e-7, LrTeacher = 0.01 },
            "derived here (MTT publishes no MNIST settings): CIFAR-10 IPC 1 schedule, no ZCA, lr_img 100 for normalised grey images"),
        ["mnist-ipc10"] = new("mnist", new() { ImagesPerClass = 10, SynSteps = 30, ExpertEpochs = 2, MaxStartEpoch = 10,
                LrImg = 100, LrLr = 1e-5, LrTeacher = 0.01 },
            "derived here (MTT publishes no MNIST settings): CIFAR-10 IPC 10 schedule, no ZCA, lr_img 100, start epochs ≤ 10"),
    };

    public static IEnumerable<(string Name, Preset Preset)> All => Entries.Select(e => (e.Key, e.Value));

    public static Preset Find(string name) =>
        Entries.TryGetValue(name, out var preset) ? preset
            : throw UserError.At($"--preset {name}", "unknown preset", $"use one of: {string.Join(", ", Entries.Keys)}");
}
