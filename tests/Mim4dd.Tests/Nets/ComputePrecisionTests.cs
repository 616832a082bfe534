using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Nets;

public class ComputePrecisionTests
{
    [Fact]
    public void Bf16_StaysCloseToFp32_ReturnsFloat32_AndLeavesFloat64Alone()
    {
        TorchRuntime.Start();
        if (!MachineInfo.Current().HasBf16)
        {
            Assert.Throws<UserError>(() => ComputePrecision.Set("bf16"));
            return;
        }
        using var scope = NewDisposeScope();
        var net = NetRegistry.Build("ConvNet", new InputShape(3, 32, 32), 10);
        using var weights = net.Initialize(Rng.Torch(1));
        var x = randn(new long[] { 8, 3, 32, 32 }, generator: Rng.Torch(2));
        var exact = net.Forward(weights.Parameters, x);
        using var weights64 = net.Initialize(Rng.Torch(1), ScalarType.Float64);
        var exact64 = net.Forward(weights64.Parameters, x.to_type(ScalarType.Float64));
        Tensor low, low64;
        try
        {
            ComputePrecision.Set("bf16");
            low = net.Forward(weights.Parameters, x);
            low64 = net.Forward(weights64.Parameters, x.to_type(ScalarType.Float64));
        }
        finally { ComputePrecision.Set("fp32"); }
        Assert.Equal(ScalarType.Float32, low.dtype);
        double relative = (low - exact).norm().item<float>() / exact.norm().item<float>();
        Assert.InRange(relative, 1e-5, 5e-2);   // rounded (so not identical), but only by bf16's 8-bit mantissa
        Assert.True(low64.equal(exact64).all().item<bool>(), "float64 layers never round to bf16");
    }

    [Fact]
    public void Bf16_KeepsShortSums_LikeTheImageFacingConvolution_InFp32()
    {
        TorchRuntime.Start();
        if (!MachineInfo.Current().HasBf16)
        {
            Assert.Throws<UserError>(() => ComputePrecision.Set("bf16"));
            return;
        }
        using var scope = NewDisposeScope();
        var pass = () => new ForwardPass([randn(8, 3, 3, 3, generator: Rng.Torch(1)), randn(8, generator: Rng.Torch(2)),
            randn(4, 8, 3, 3, generator: Rng.Torch(3)), randn(4, generator: Rng.Torch(4))], null, training: true, tap: null);
        var (imageFacing, inner) = (new Conv2d(3, 8, 3, padding: 1), new Conv2d(8, 4, 3, padding: 1));   // 27 and 72 terms
        var x = randn(new long[] { 2, 3, 16, 16 }, generator: Rng.Torch(5));
        var exactPass = pass();
        var exactFirst = imageFacing.Forward(exactPass, x);
        var exact = inner.Forward(exactPass, exactFirst);
        Tensor lowFirst, low;
        try
        {
            ComputePrecision.Set("bf16");
            var lowPass = pass();
            lowFirst = imageFacing.Forward(lowPass, x);
            low = inner.Forward(lowPass, lowFirst);
        }
        finally { ComputePrecision.Set("fp32"); }
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
