using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Nets;

public class ComputePrecisionTests
{
    /// <summary>Whether this CPU runs bf16; where it does not, checks that bf16 is refused (the test's own part cannot run).</summary>
    internal static bool Bf16Available()
    {
        TorchRuntime.Start();
        if (MachineInfo.Current().HasBf16) return true;
        Assert.Throws<UserError>(() => ComputePrecision.Set("bf16"));
        return false;
    }

    /// <summary><paramref name="work"/>'s result with bf16 on; fp32 again afterwards, also when it throws.</summary>
    internal static T InBf16<T>(Func<T> work)
    {
        ComputePrecision.Set("bf16");
        try { return work(); }
        finally { ComputePrecision.Set("fp32"); }
    }

    [Fact]
    public void Bf16_StaysCloseToFp32_ReturnsFloat32_AndLeavesFloat64Alone()
    {
        if (!Bf16Available()) return;
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build("ConvNet", new InputShape(3, 32, 32), 10);
        using var weights = net.Initialize(Rng.Torch(1));
        var x = randn(new long[] { 8, 3, 32, 32 }, generator: Rng.Torch(2));
        var exact = net.Forward(weights.Parameters, x);
        using var weights64 = net.Initialize(Rng.Torch(1), ScalarType.Float64);
        var exact64 = net.Forward(weights64.Parameters, x.to_type(ScalarType.Float64));
        var (low, low64) = InBf16(() => (net.Forward(weights.Parameters, x), net.Forward(weights64.Parameters, x.to_type(ScalarType.Float64))));
        Assert.Equal(ScalarType.Float32, low.dtype);
        double relative = (low - exact).norm().item<float>() / exact.norm().item<float>();
        Assert.InRange(relative, 1e-5, 5e-2);   // rounded (so not identical), but only by bf16's 8-bit mantissa
        Assert.True(low64.equal(exact64).all().item<bool>(), "float64 layers never round to bf16");
    }

    [Fact]
    public void Bf16_KeepsShortSums_LikeTheImageFacingConvolution_InFp32()
    {
        if (!Bf16Available()) return;
        using var scope = NewDisposeScope();
        var pass = () => new ForwardPass([randn(8, 3, 3, 3, generator: Rng.Torch(1)), randn(8, generator: Rng.Torch(2)),
            randn(4, 8, 3, 3, generator: Rng.Torch(3)), randn(4, generator: Rng.Torch(4))], null, training: true, tap: null);
        var (imageFacing, inner) = (new Conv2d(3, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1));   // 27 and 72 terms
        var x = randn(new long[] { 2, 3, 16, 16 }, generator: Rng.Torch(5));
        var exactPass = pass();
        var exactFirst = imageFacing.Forward(exactPass, x);
        var exact = inner.Forward(exactPass, exactFirst);
        var (lowFirst, low) = InBf16(() =>
        {
            var lowPass = pass();
            var first = imageFacing.Forward(lowPass, x);
            return (first, inner.Forward(lowPass, first));
        });
        Assert.True(lowFirst.equal(exactFirst).all().item<bool>(), "a 27-term convolution stays fp32");
        Assert.Equal(ScalarType.Float32, low.dtype);
        double relative = (low - exact).norm().item<float>() / exact.norm().item<float>();
        Assert.InRange(relative, 1e-5, 5e-2);   // a 72-term convolution rounds to bf16
    }

    [Fact]
    public void UnknownPrecision_ExitsTwo()
    {
        var (code, _, stderr) = CliTests.Run("bench", "roofline", "--size", "16", "--precision", "fp8");
        Assert.Equal(2, code);
        Assert.Contains("--precision fp8", stderr);
    }
}
