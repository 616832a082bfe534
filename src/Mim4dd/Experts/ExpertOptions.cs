using Mim4dd.Runtime;
using Mim4dd.Train;

namespace Mim4dd.Experts;

/// <summary>How expert trajectories are trained: MTT's teacher settings (its public buffer script) by default.</summary>
public sealed record ExpertOptions
{
    public int NumExperts { get; init; } = 100;
    public int Epochs { get; init; } = 50;
    public double LearningRate { get; init; } = 0.01;
    public int BatchSize { get; init; } = 256;
    public bool Zca { get; init; }
    public long Seed { get; init; }

    /// <summary>MTT whitens CIFAR-10/100 and nothing else.</summary>
    public static bool ZcaByDefault(string dataset) =>
        dataset.Equals("cifar10", StringComparison.OrdinalIgnoreCase) || dataset.Equals("cifar100", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws a <see cref="UserError"/> naming the first bad option by its command-line name.</summary>
    public void Validate()
    {
        OptionRange.AtLeast("--num-experts", NumExperts, 1, "pass e.g. --num-experts 100");
        OptionRange.AtLeast("--train-epochs", Epochs, 1, "pass e.g. --train-epochs 50");
        OptionRange.Positive("--lr-teacher", LearningRate, "pass e.g. --lr-teacher 0.01");
        OptionRange.AtLeast("--batch-train", BatchSize, 1, "pass e.g. --batch-train 256");
    }

    /// <summary>Plain SGD: no momentum, no weight decay, no learning-rate decay, as MTT's teachers.</summary>
    public TrainOptions ToTrainOptions() => new()
    {
        Epochs = Epochs,
        LearningRate = LearningRate,
        Momentum = 0,
        WeightDecay = 0,
        BatchSize = BatchSize,
        DecayAfterEpoch = -1,
    };
}
