using static TorchSharp.torch;

namespace Mim4dd.Runtime;

/// <summary>
/// The dtype convolutions and linear layers compute in. With bf16, a float32 layer rounds its input, weight and bias
/// to bfloat16 for the product (oneDNN accumulates in fp32) and returns float32; parameters, synthetic images,
/// optimiser state and every other op stay float32, so the fp32 values are the master copies. Float64 (tests) is
/// never touched. Scoped per async flow, so parallel tests do not see each other's setting.
/// </summary>
public static class ComputePrecision
{
    public static readonly string[] Names = ["fp32", "bf16"];

    private static readonly AsyncLocal<bool> bf16 = new();

    public static bool Bf16 => bf16.Value;

    public static string Name => Bf16 ? "bf16" : "fp32";

    /// <summary>Sets the precision for the rest of this flow; bf16 is refused on CPUs without native bf16 arithmetic.</summary>
    public static void Set(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "fp32":
                bf16.Value = false;
                break;
            case "bf16":
                if (!MachineInfo.Current().HasBf16)
                    throw UserError.At("--precision bf16",
                        "this CPU has no avx512_bf16 or amx_bf16, so bf16 would be emulated and run hundreds of times slower",
                        "use --precision fp32 (the default)");
                if (SelfCheckError.Value > 0.02)
                    throw UserError.At("--precision bf16",
                        $"this CPU's bf16 convolution is off from fp32 by {SelfCheckError.Value:P0} "
                        + $"on a check that fp32 rounding keeps below 1 %",
                        "use --precision fp32 (the default)");
                bf16.Value = true;
                break;
            default:
                throw UserError.At($"--precision {name}", "unknown precision", "use fp32 or bf16");
        }
    }

    /// <summary>
    /// Products that sum fewer terms than this stay fp32 under bf16. In practice that is the image-facing convolution
    /// of a 1- or 3-channel input (9 or 27 terms): bf16 gains nothing on so short a sum, and oneDNN runs its
    /// weight gradient as a scalar conversion loop, which made bf16 ConvNet-3 training on MNIST 1.5× slower than this
    /// rule (docs/performance.md). It also keeps the synthetic images' own gradient in fp32.
    /// </summary>
    public const long MinBf16Terms = 32;

    /// <summary>
    /// Whether a convolution with these channel counts may run in bf16. On Zen 5 (AVX-512 bf16), TorchSharp 0.107's
    /// oneDNN bf16 convolution returns wrong values, sometimes NaN, for every channel count it writes that is not a
    /// multiple of 16: the output channels forward, the input channels in the input gradient (13–55 % relative error
    /// measured; linear layers are right). ConvNet's 128-channel layers qualify; LeNet's 6-channel ones stay fp32.
    /// </summary>
    public static bool Bf16Convolution(long inChannels, long outChannels) => inChannels % 16 == 0 && outChannels % 16 == 0;

    /// <summary>
    /// Relative error of a qualifying bf16 convolution (forward and input gradient) against fp32 on bf16-exact
    /// inputs, where only the accumulation differs: about 0.2 % on a sound CPU. Run once, when bf16 is first asked
    /// for, so a CPU with another such bug is refused instead of training on wrong numbers.
    /// </summary>
    private static readonly Lazy<double> SelfCheckError = new(() =>
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();   // the first bf16 request may come from inside a no_grad block
        var generator = Rng.Torch(7);
        var x0 = randn(new long[] { 2, 16, 8, 8 }, generator: generator).to_type(ScalarType.BFloat16);
        var w0 = randn(new long[] { 32, 16, 3, 3 }, generator: generator).to_type(ScalarType.BFloat16);
        (Tensor Y, Tensor Gx) Run(ScalarType dtype)
        {
            var x = x0.to_type(dtype).requires_grad_(true);
            var y = nn.functional.conv2d(x, w0.to_type(dtype), padding: new long[] { 1, 1 });
            y.sum().backward();
            return (y.to_type(ScalarType.Float32), x.grad!.to_type(ScalarType.Float32));
        }
        var (exact, low) = (Run(ScalarType.Float32), Run(ScalarType.BFloat16));
        double Relative(Tensor a, Tensor b) => (a - b).norm().item<float>() / b.norm().item<float>();
        var error = Math.Max(Relative(low.Y, exact.Y), Relative(low.Gx, exact.Gx));
        return double.IsNaN(error) ? double.PositiveInfinity : error;
    });

    /// <summary>x in the compute dtype for a product summing <paramref name="terms"/> terms: bfloat16 when bf16 is on,
    /// x is float32 and the sum is long enough, else x itself.</summary>
    public static Tensor? ForProduct(Tensor? x, long terms) =>
        x is not null && Bf16 && terms >= MinBf16Terms && x.dtype == ScalarType.Float32 ? x.to_type(ScalarType.BFloat16) : x;

    /// <summary>A product's result back in the dtype of its input.</summary>
    public static Tensor Back(Tensor y, Tensor input) => y.dtype == input.dtype ? y : y.to_type(input.dtype);
}
