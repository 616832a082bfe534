using TorchSharp;
using static TorchSharp.torch;

namespace Mim4dd.Runtime;

/// <summary>
/// Tensor arithmetic whose scalar operands stay alive across the LibTorch call. TorchSharp 0.107 turns 0.5 in
/// <c>x.mul(0.5)</c> (and the 1 in <c>a + b</c>) into a temporary <see cref="Scalar"/> and passes only its handle, so a GC
/// started by another thread can let the finalizer free it while LibTorch still reads it (a rare use-after-free:
/// "Expected false to be true" from Scalar::toFloat, or wrong numbers). Here every Scalar is a static constant or a
/// <c>using</c> local that lives until the call returned. ScalarLifetimeTests keeps the rest of the code from making them.
/// </summary>
public static class Scalars
{
    private static readonly Scalar Zero = 0.ToScalar();
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a += b in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>a + alpha·b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b, double alpha) { using var k = alpha.ToScalar(); return a.add(b, k); }

    /// <summary>a += alpha·b in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha) { using var k = alpha.ToScalar(); return a.add_(b, k); }

    public static Tensor Plus(this Tensor a, double value) { using var k = value.ToScalar(); return a.add(k, One); }
    public static Tensor PlusInPlace(this Tensor a, double value) { using var k = value.ToScalar(); return a.add_(k, One); }
    public static Tensor Minus(this Tensor a, double value) { using var k = value.ToScalar(); return a.sub(k); }
    public static Tensor MinusInPlace(this Tensor a, double value) { using var k = value.ToScalar(); return a.sub_(k); }
    public static Tensor Times(this Tensor a, double value) { using var k = value.ToScalar(); return a.mul(k); }
    public static Tensor TimesInPlace(this Tensor a, double value) { using var k = value.ToScalar(); return a.mul_(k); }
    public static Tensor Over(this Tensor a, double value) { using var k = value.ToScalar(); return a.div(k); }
    public static Tensor OverInPlace(this Tensor a, double value) { using var k = value.ToScalar(); return a.div_(k); }
    public static Tensor Power(this Tensor a, double exponent) { using var k = exponent.ToScalar(); return a.pow(k); }
    public static Tensor AtLeast(this Tensor a, double min) { using var k = min.ToScalar(); return a.clamp_min(k); }
    public static Tensor AtMost(this Tensor a, double max) { using var k = max.ToScalar(); return a.clamp_max(k); }
    public static Tensor Between(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp(lo, hi);
    }
    public static Tensor FillInPlace(this Tensor a, double value) { using var k = value.ToScalar(); return a.fill_(k); }

    // Integer scalars, so integer tensors (indices) stay integer.
    public static Tensor Plus(this Tensor a, long value) { using var k = value.ToScalar(); return a.add(k, One); }
    public static Tensor Minus(this Tensor a, long value) { using var k = value.ToScalar(); return a.sub(k); }
    public static Tensor Times(this Tensor a, long value) { using var k = value.ToScalar(); return a.mul(k); }
    public static Tensor Over(this Tensor a, long value) { using var k = value.ToScalar(); return a.div(k); }
    public static Tensor OverInPlace(this Tensor a, long value) { using var k = value.ToScalar(); return a.div_(k); }
    public static Tensor Over(this Tensor a, long value, RoundingMode rounding)
    {
        using var k = value.ToScalar();
        return a.div(k, rounding);
    }
    public static Tensor Power(this Tensor a, long exponent) { using var k = exponent.ToScalar(); return a.pow(k); }
    public static Tensor AtLeast(this Tensor a, long min) { using var k = min.ToScalar(); return a.clamp_min(k); }
    public static Tensor AtMost(this Tensor a, long max) { using var k = max.ToScalar(); return a.clamp_max(k); }
    public static Tensor Between(this Tensor a, long min, long max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp(lo, hi);
    }

    public static Tensor EqualTo(this Tensor a, long value) { using var k = value.ToScalar(); return a.eq(k); }
    public static Tensor GreaterOrEqual(this Tensor a, long value) { using var k = value.ToScalar(); return a.ge(k); }
    public static Tensor GreaterThan(this Tensor a, double value) { using var k = value.ToScalar(); return a.gt(k); }
    public static Tensor LessThan(this Tensor a, double value) { using var k = value.ToScalar(); return a.lt(k); }

    /// <summary>a with value wherever mask is set (masked_fill).</summary>
    public static Tensor FillWhere(this Tensor a, Tensor mask, double value)
    {
        using var k = value.ToScalar();
        return a.masked_fill(mask, k);
    }

    public static Tensor FullLike(this Tensor like, double value) { using var k = value.ToScalar(); return full_like(like, k); }
    public static Tensor FullLike(this Tensor like, long value) { using var k = value.ToScalar(); return full_like(like, k); }
    public static Tensor Full(long[] shape, long value, ScalarType dtype) { using var k = value.ToScalar(); return full(shape, k, dtype); }

    /// <summary>arange(stop): 0, 1, …, stop − 1; int64 unless dtype says otherwise.</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null)
    {
        using var end = stop.ToScalar();
        return arange(Zero, end, One, dtype, device);
    }

    /// <summary>arange(start, stop): start, …, stop − 1; int64 unless dtype says otherwise.</summary>
    public static Tensor Arange(long start, long stop, ScalarType? dtype = null, Device? device = null)
    {
        using var begin = start.ToScalar();
        using var end = stop.ToScalar();
        return arange(begin, end, One, dtype, device);
    }

    /// <summary>F.leaky_relu(x, negativeSlope).</summary>
    public static Tensor LeakyRelu(this Tensor x, double negativeSlope) { using var k = negativeSlope.ToScalar(); return x.leaky_relu(k); }

    /// <summary>a += value·t1·t2 in place.</summary>
    public static Tensor AddProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var k = value.ToScalar();
        return a.addcmul_(t1, t2, k);
    }

    /// <summary>a += value·t1/t2 in place.</summary>
    public static Tensor AddQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var k = value.ToScalar();
        return a.addcdiv_(t1, t2, k);
    }

    /// <summary>The value of a one-element tensor as a double (any dtype), without TorchSharp's ToDouble temporary.</summary>
    public static double Value(this Tensor t)
    {
        if (t.dtype == ScalarType.Float64) return t.item<double>();
        using var converted = Convert(t, ScalarType.Float64);
        return converted.item<double>();
    }

    /// <summary>The value of a one-element tensor as a long (any integer or bool dtype).</summary>
    public static long LongValue(this Tensor t)
    {
        if (t.dtype == ScalarType.Int64) return t.item<long>();
        using var converted = Convert(t, ScalarType.Int64);
        return converted.item<long>();
    }

    private static Tensor Convert(Tensor t, ScalarType type)
    {
        using var scope = NewDisposeScope();
        return t.detach().to_type(type).MoveToOuterDisposeScope();
    }
}
