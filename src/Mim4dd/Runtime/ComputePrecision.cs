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
                    throw UserError.At("--precision bf16", "this CPU has no avx512_bf16 or amx_bf16, so bf16 would be emulated and run hundreds of times slower",
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

    /// <summary>x in the compute dtype for a product summing <paramref name="terms"/> terms: bfloat16 when bf16 is on, x is float32 and the sum is long enough, else x itself.</summary>
    public static Tensor? ForProduct(Tensor? x, long terms) =>
        x is not null && Bf16 && terms >= MinBf16Terms && x.dtype == ScalarType.Float32 ? x.to_type(ScalarType.BFloat16) : x;

    /// <summary>A product's result back in the dtype of its input.</summary>
    public static Tensor Back(Tensor y, Tensor input) => y.dtype == input.dtype ? y : y.to_type(input.dtype);
}
