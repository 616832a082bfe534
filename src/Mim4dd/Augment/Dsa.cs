using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Augment;

/// <summary>
/// Differentiable Siamese Augmentation in mode 'S': each call draws one operation family uniformly from
/// the strategy and applies it to the whole batch. <see cref="Apply"/> draws parameters per image;
/// <see cref="ApplySiamese"/> derives the family and one set of parameters from a seed and applies that
/// set to every image, so a real and a synthetic batch augmented with the same seed get the same
/// transform whatever their sizes.
/// </summary>
public sealed class Dsa : IAugment
{
    /// <summary>All six families: FashionMNIST, CIFAR10/100, and the DM/MTT default.</summary>
    public const string Default = "color_crop_cutout_flip_scale_rotate";

    /// <summary>Without flip, for digits (MNIST, SVHN), where mirroring changes the meaning.</summary>
    public const string NoFlip = "color_crop_cutout_scale_rotate";

    private enum Family { Color, Crop, Cutout, Flip, Scale, Rotate }

    private static readonly string[] FamilyNames = ["color", "crop", "cutout", "flip", "scale", "rotate"];

    private readonly Family[] families;

    /// <param name="strategy">'_'-joined family names, e.g. <see cref="Default"/>; "" or "none" augments nothing.
    /// A name given twice is drawn twice as often, as in the reference.</param>
    public Dsa(string strategy)
    {
        Strategy = strategy;
        families = Parse(strategy);
    }

    /// <summary>The valid family names, in canonical order.</summary>
    public static IReadOnlyList<string> ValidNames => FamilyNames;

    public string Strategy { get; }

    /// <summary>The families drawn from, in strategy order.</summary>
    public IReadOnlyList<string> Families => families.Select(family => FamilyNames[(int)family]).ToArray();

    /// <summary>The strategy the DSA paper uses for a dataset: no flip for digit datasets, all six otherwise.</summary>
    public static string StrategyFor(string datasetName)
    {
        var key = new string(datasetName.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();
        return key is "mnist" or "svhn" ? NoFlip : Default;
    }

    /// <summary>Non-siamese: one family for the batch, parameters drawn per image from the generator.</summary>
    public Tensor Apply(Tensor images, Generator generator) => Augment(images, generator, shared: false);

    /// <summary>Siamese: the same seed gives the same family and the same parameters, shared by all images.</summary>
    public Tensor ApplySiamese(Tensor images, long seed)
    {
        using var generator = Rng.Torch(seed);
        return Augment(images, generator, shared: true);
    }

    private Tensor Augment(Tensor images, Generator generator, bool shared)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"DSA takes images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        if (families.Length == 0 || images.shape[0] == 0) return images;
        using var scope = NewDisposeScope();
        var family = families[DrawIndex(generator)];
        long count = shared ? 1 : images.shape[0];
        var result = Draw(family, images, count, generator);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The family the next call with this generator will apply (consumes the same draw).</summary>
    internal string DrawFamily(Generator generator) => FamilyNames[(int)families[DrawIndex(generator)]];

    private int DrawIndex(Generator generator)
    {
        using var index = randint(0, families.Length, new long[] { 1 }, ScalarType.Int64, generator: generator);
        return (int)index.item<long>();
    }

    private static Tensor Draw(Family family, Tensor images, long count, Generator generator)
    {
        long height = images.shape[2], width = images.shape[3];
        switch (family)
        {
            case Family.Color:
                var brightness = Uniform(count, generator);
                var saturation = Uniform(count, generator);
                var contrast = Uniform(count, generator);
                return DsaOps.Color(images, brightness, saturation, contrast);
            case Family.Crop:
                long rowShift = Round(height * DsaOps.CropRatio), columnShift = Round(width * DsaOps.CropRatio);
                var rows = Integers(-rowShift, rowShift, count, generator);
                var columns = Integers(-columnShift, columnShift, count, generator);
                return DsaOps.Crop(images, rows, columns);
            case Family.Cutout:
                long cutRows = Round(height * DsaOps.CutoutRatio), cutColumns = Round(width * DsaOps.CutoutRatio);
                // Centres run to H − (size mod 2), as in the reference, so even squares reach the last row.
                var centreRow = Integers(0, height - cutRows % 2, count, generator);
                var centreColumn = Integers(0, width - cutColumns % 2, count, generator);
                return DsaOps.Cutout(images, centreRow, centreColumn, cutRows, cutColumns);
            case Family.Flip:
                return DsaOps.Flip(images, Uniform(count, generator).LessThan(DsaOps.FlipProbability));
            case Family.Scale:
                double low = 1.0 / DsaOps.ScaleRatio, span = DsaOps.ScaleRatio - low;
                var scaleX = Uniform(count, generator).Times(span).Plus(low);
                var scaleY = Uniform(count, generator).Times(span).Plus(low);
                return DsaOps.Scale(images, scaleX, scaleY);
            case Family.Rotate:
                var radians = Uniform(count, generator).Minus(0.5).Times(2 * DsaOps.RotateDegrees * Math.PI / 180);
                return DsaOps.Rotate(images, radians);
            default:
                throw new InvalidOperationException($"unhandled DSA family {family}");
        }
    }

    // Python's int(v + 0.5) for the non-negative sizes used here.
    private static long Round(double value) => (long)(value + 0.5);

    private static Tensor Uniform(long count, Generator generator) =>
        rand(new long[] { count }, ScalarType.Float32, generator: generator);

    private static Tensor Integers(long lowInclusive, long highInclusive, long count, Generator generator) =>
        randint(lowInclusive, highInclusive + 1, new long[] { count }, ScalarType.Int64, generator: generator);

    private static Family[] Parse(string strategy)
    {
        if (strategy.Length == 0 || strategy == "none") return [];
        var parsed = new List<Family>();
        foreach (var name in strategy.Split('_'))
        {
            int index = Array.IndexOf(FamilyNames, name);
            if (index < 0)
                throw UserError.At($"DSA strategy '{strategy}'", $"unknown operation '{name}'",
                    $"use '_'-joined names from: {string.Join(", ", FamilyNames)} (or 'none'), e.g. '{Default}'");
            parsed.Add((Family)index);
        }
        return parsed.ToArray();
    }
}
