namespace Mim4dd.Runtime;

/// <summary>Range checks of option values: a <see cref="UserError"/> naming the option, the valid range and what to pass.</summary>
public static class OptionRange
{
    public static void AtLeast(string option, long value, long min, string fix)
    {
        if (value < min)
            throw UserError.At(option, min == 0 ? $"must be 0 or more, got {value}" : $"must be at least {min}, got {value}", fix);
    }

    public static void Positive(string option, double value, string fix)
    {
        if (!(value > 0) || !double.IsFinite(value)) throw UserError.At(option, $"must be a positive number, got {value}", fix);
    }
}
