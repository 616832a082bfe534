using System.Globalization;

namespace Mim4dd.Runtime;

/// <summary>
/// One slice of a set of independent jobs (experts, evaluations): job j belongs to shard i of n when
/// j % n == i, so n processes or cluster array tasks can share the work without talking to each other.
/// </summary>
public sealed record Shard
{
    public Shard(int index, int count)
    {
        if (count < 1 || index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), $"shard {index}/{count} is not in 0..{count - 1} of {count}");
        Index = index;
        Count = count;
    }

    /// <summary>The whole set: one shard.</summary>
    public static Shard All { get; } = new(0, 1);

    public int Index { get; }
    public int Count { get; }

    public bool Contains(int job) => job % Count == Index;

    /// <summary>Parses "i/n" as given to <c>--shard</c>; bad text is a <see cref="UserError"/>.</summary>
    public static Shard Parse(string text, string option = "--shard")
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            && count >= 1 && index < count)
            return new Shard(index, count);
        throw UserError.At($"{option} {text}", "not a shard i/n with 0 ≤ i < n",
            "pass e.g. --shard 0/4 … --shard 3/4 for four processes");
    }

    public override string ToString() => $"{Index}/{Count}";
}
