using System.Collections;
using System.Text;
using Mim4dd.Runtime;
using Razorvine.Pickle;

namespace Mim4dd.Data;

/// <summary>
/// Unpickles data made of dicts, lists, numbers, strings and numpy arrays, nothing else. The opcodes are
/// scanned first (<see cref="PickleScan"/>) so only the numpy globals below can appear; Razorvine then builds
/// the objects, with these constructors standing in for numpy's.
/// </summary>
internal static class NumpyPickle
{
    private static readonly NdarrayClass Ndarray = new();

    private static readonly Dictionary<string, IObjectConstructor> Constructors = new()
    {
        ["numpy.core.multiarray._reconstruct"] = new ReconstructFunction(),
        ["numpy._core.multiarray._reconstruct"] = new ReconstructFunction(),
        // Pickle protocol 5 (Python 3.14's default) stores arrays as _frombuffer(bytes, dtype, shape, order).
        ["numpy.core.numeric._frombuffer"] = new FrombufferFunction(),
        ["numpy._core.numeric._frombuffer"] = new FrombufferFunction(),
        ["numpy.ndarray"] = Ndarray,
        ["numpy.dtype"] = new DtypeClass(),
        // Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1').
        ["_codecs.encode"] = new EncodeFunction(),
    };

    private static readonly IReadOnlySet<string> AllowedGlobals = Constructors.Keys.ToHashSet();

    static NumpyPickle()
    {
        foreach (var (global, constructor) in Constructors)
        {
            int dot = global.LastIndexOf('.');
            Unpickler.registerConstructor(global[..dot], global[(dot + 1)..], constructor);
        }
    }

    /// <summary>Unpickles <paramref name="bytes"/>; <paramref name="where"/> names the source in errors.</summary>
    public static object? Load(byte[] bytes, string where)
    {
        PickleScan.Check(bytes, where, AllowedGlobals);
        try
        {
            using var unpickler = new Unpickler();
            return unpickler.loads(bytes);
        }
        catch (Exception e) when (e is not UserError)
        {
            for (var inner = e; inner is not null; inner = inner.InnerException)
                if (inner is ContentError content)
                    throw UserError.At(where, content.Message, "the file is corrupt or not a numpy pickle; download it again");
            throw UserError.At(where, $"the pickle is corrupt ({e.GetType().Name}: {e.Message})", "download the file again");
        }
    }

    /// <summary>Text from a pickled str (Python 3) or bytes / Python 2 str, whichever the file holds.</summary>
    public static string? AsText(object? value) => value switch
    {
        string text => text,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => null,
    };

    private static bool IsLatin1(string text) => text.AsSpan().IndexOfAnyExceptInRange('\u0000', '\u00ff') < 0;

    /// <summary>Bad content met while building objects; becomes a <see cref="UserError"/> naming the file.</summary>
    private sealed class ContentError(string message) : Exception(message);

    /// <summary>What numpy.ndarray stands for in a pickle: only ever passed to _reconstruct.</summary>
    private sealed class NdarrayClass : IObjectConstructor
    {
        public object construct(object[] args) => throw new ContentError("the pickle calls numpy.ndarray directly");
    }

    private sealed class ReconstructFunction : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length != 3 || !ReferenceEquals(args[0], Ndarray))
                throw new ContentError("numpy _reconstruct is called for something other than a plain numpy.ndarray");
            return new PickledArray();
        }
    }

    private sealed class FrombufferFunction : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length != 4 || args[1] is not PickledDtype dtype || AsText(args[3]) is not { } order || order is not ("C" or "F"))
                throw new ContentError("numpy _frombuffer is not called as (buffer, dtype, shape, order)");
            return new PickledArray(PickledArray.Make(PickledArray.Shape(args[2]), dtype, order == "F", args[0]));
        }
    }

    private sealed class DtypeClass : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 1 || AsText(args[0]) is not { } code)
                throw new ContentError("numpy dtype without a type code");
            return new PickledDtype(code);
        }
    }

    private sealed class EncodeFunction : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length != 2 || args[0] is not string text || AsText(args[1]) is not { } encoding)
                throw new ContentError("_codecs.encode takes a string and an encoding");
            return encoding.ToLowerInvariant() switch
            {
                "latin1" or "latin-1" or "iso-8859-1" when IsLatin1(text) => Encoding.Latin1.GetBytes(text),
                "utf-8" or "utf8" => Encoding.UTF8.GetBytes(text),
                _ => throw new ContentError($"_codecs.encode with encoding '{encoding}' is not supported"),
            };
        }
    }

    /// <summary>A numpy dtype as pickled: a type code such as "u1", then the byte order from __setstate__.</summary>
    public sealed class PickledDtype(string code)
    {
        public string Code { get; } = code;
        public char ByteOrder { get; private set; } = '|';

        // Named as numpy names it: Razorvine's BUILD opcode calls it by this name.
        public void __setstate__(object[] state)
        {
            if (state.Length < 2 || AsText(state[1]) is not { Length: 1 } order)
                throw new ContentError("numpy dtype state without a byte order");
            ByteOrder = order[0];
        }
    }

    /// <summary>A numpy array as pickled; <see cref="Array"/> is set by __setstate__ (or at once by _frombuffer).</summary>
    public sealed class PickledArray(NdArray? array = null)
    {
        public NdArray? Array { get; private set; } = array;

        // ndarray state is (version, shape, dtype, is_fortran, raw data); very old numpy leaves out the version.
        public void __setstate__(object[] state)
        {
            if (state.Length is not (4 or 5)) throw new ContentError($"numpy array state has {state.Length} items, not 5");
            int first = state.Length - 4;
            if (state[first + 1] is not PickledDtype dtype) throw new ContentError("numpy array state without a dtype");
            if (state[first + 2] is not bool isFortran) throw new ContentError("numpy array state without a memory-order flag");
            Array = Make(Shape(state[first]), dtype, isFortran, state[first + 3]);
        }

        internal static NdArray Make(long[] shape, PickledDtype dtype, bool isFortran, object? raw)
        {
            if (!NumpyType.TryParse(dtype.Code, out var type, out _) || dtype.ByteOrder == '>')
                throw new ContentError($"numpy dtype '{dtype.ByteOrder}{dtype.Code}' is not supported "
                    + $"(only little-endian bool, integer and float)");
            var data = raw switch
            {
                byte[] bytes => bytes,
                string text when IsLatin1(text) => Encoding.Latin1.GetBytes(text),
                _ => throw new ContentError("numpy array without raw data (object arrays are not supported)"),
            };
            long count = NdArray.ElementCount(shape, type.Size);
            if (count < 0 || count * type.Size != data.LongLength)
                throw new ContentError($"numpy array of shape [{string.Join(", ", shape)}] and type {type} holds {data.LongLength} bytes");
            if (isFortran && shape.Count(size => size > 1) > 1)
                throw new ContentError("numpy array is in Fortran (column-major) order; only C order is supported");
            return new NdArray(type, shape, data);
        }

        internal static long[] Shape(object? value)
        {
            if (value is not object[] sizes) throw new ContentError("numpy array without a shape tuple");
            return sizes.Select(size => size switch
            {
                int number => number,
                long number => number,
                _ => throw new ContentError("numpy array shape holds a non-integer"),
            }).ToArray();
        }
    }

    /// <summary>Integers from a pickled list of ints or a 1-D integer numpy array.</summary>
    public static long[]? AsIntegers(object? value, string where, string what)
    {
        switch (value)
        {
            case ArrayList list:
                var values = new long[list.Count];
                for (int i = 0; i < values.Length; i++)
                    values[i] = list[i] switch
                    {
                        int number => number,
                        long number => number,
                        _ => throw UserError.At(where, $"{what}[{i}] is not an integer", "the file is corrupt; download it again"),
                    };
                return values;
            case PickledArray { Array: { } array } when array.Shape.Length == 1:
                return array.ToIntegers(where, what);
            default:
                return null;
        }
    }
}
