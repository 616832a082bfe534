using Mim4dd.Runtime;

namespace Mim4dd.Augment;

/// <summary>The augmentations an evaluation or training run can use, by name.</summary>
public static class Augmentations
{
    public static readonly string[] Names = ["dsa", "dc", "none"];

    /// <summary>"dsa": DSA with the dataset's strategy (no flip for digits), parameters per image; "dc": the DC paper's
    /// per-image crop/scale/rotate (its MNIST evaluation); "none": null.</summary>
    public static IAugment? Create(string name, string dataset) => name.ToLowerInvariant() switch
    {
        "dsa" => new Dsa(Dsa.StrategyFor(dataset)),
        "dc" => new DcAugment(),
        "none" => null,
        _ => throw UserError.At($"--augment {name}", "unknown augmentation", $"use one of: {string.Join(", ", Names)}"),
    };
}
