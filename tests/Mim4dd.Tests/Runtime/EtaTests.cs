using Mim4dd.Runtime;

namespace Mim4dd.Tests.Runtime;

public class EtaTests
{
    [Theory]
    [InlineData(1, 10, 5, "ETA 45 s")]          // 5 s per step, 9 to go
    [InlineData(10, 100, 60, "ETA 9.0 min")]     // 6 s per step, 90 to go
    [InlineData(1, 30, 600, "ETA 4.8 h")]        // 10 min per step, 29 to go
    [InlineData(0, 10, 5, "ETA ?")]
    [InlineData(10, 10, 5, "done")]
    public void RemainingTimeFollowsThePaceSoFar(int done, int total, double seconds, string expected) =>
        Assert.Equal(expected, Eta.Text(done, total, TimeSpan.FromSeconds(seconds)));
}
