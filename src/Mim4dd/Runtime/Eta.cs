using System.Globalization;

namespace Mim4dd.Runtime;

/// <summary>Remaining time of a loop from its average pace so far, for progress lines.</summary>
public static class Eta
{
    /// <summary>"ETA 12.3 min" (or seconds, or hours) for <paramref name="total"/> − <paramref name="done"/> more steps
    /// at the pace of the first <paramref name="done"/>.</summary>
    public static string Text(int done, int total, TimeSpan elapsed)
    {
        if (done <= 0 || done >= total) return done >= total ? "done" : "ETA ?";
        double seconds = elapsed.TotalSeconds / done * (total - done);
        return seconds switch
        {
            < 90 => string.Create(CultureInfo.InvariantCulture, $"ETA {seconds:F0} s"),
            < 5400 => string.Create(CultureInfo.InvariantCulture, $"ETA {seconds / 60:F1} min"),
            _ => string.Create(CultureInfo.InvariantCulture, $"ETA {seconds / 3600:F1} h"),
        };
    }
}
