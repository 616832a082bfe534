using TorchSharp;

namespace Mim4dd.Runtime;

/// <summary>
/// Explicit randomness: every random step takes a generator derived from the run seed and a purpose,
/// so the same seed gives the same bytes and adding a new random step does not shift the others.
/// </summary>
public static class Rng
{
    /// <summary>A torch generator for (seed, stream); streams separate independent uses of one seed.</summary>
    public static torch.Generator Torch(long seed, long stream = 0) => new(Mix(seed, stream));

    /// <summary>A managed generator for the same (seed, stream) pair.</summary>
    public static Random Managed(long seed, long stream = 0) => new((int)(Mix(seed, stream) & 0x7fffffff));

    /// <summary>SplitMix64 of seed and stream: well-spread, stable across platforms and runtimes.</summary>
    public static ulong Mix(long seed, long stream)
    {
        ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)stream * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
