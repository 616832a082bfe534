using System.Buffers.Binary;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>A numpy element type: kind ('b' bool, 'i' signed, 'u' unsigned, 'f' float) and size in bytes.</summary>
internal readonly record struct NumpyType(char Kind, int Size)
{
    public bool IsInteger => Kind is 'i' or 'u';

    public override string ToString() => $"{Kind}{Size}";

    /// <summary>Parses a numpy type code such as "u1", "&lt;i8", "|u1" or "&gt;f4"; false for any other kind
    /// (strings, objects, structured types) or for sizes numpy does not have.</summary>
    public static bool TryParse(string code, out NumpyType type, out char byteOrder)
    {
        type = default;
        byteOrder = '|';
        if (code.Length > 0 && code[0] is '<' or '>' or '|' or '=')
        {
            byteOrder = code[0];
            code = code[1..];
        }
        if (code.Length < 2 || !int.TryParse(code.AsSpan(1), out var size)) return false;
        type = new NumpyType(code[0], size);
        return code[0] switch
        {
            'b' => size == 1,
            'i' or 'u' => size is 1 or 2 or 4 or 8,
            'f' => size is 4 or 8,
            _ => false,
        };
    }
}

/// <summary>A numpy array read from a file: element type, shape and the raw little-endian C-order bytes.</summary>
internal sealed class NdArray
{
    public NdArray(NumpyType type, long[] shape, byte[] data)
    {
        Type = type;
        Shape = shape;
        Data = data;
    }

    public NumpyType Type { get; }
    public long[] Shape { get; }
    public byte[] Data { get; }
    public long Count => Data.LongLength / Type.Size;

    public string Describe() => $"{Type} [{string.Join(", ", Shape)}]";

    /// <summary>The number of elements of <paramref name="shape"/>, or −1 when a size is negative or the
    /// bytes would not fit in one .NET array.</summary>
    public static long ElementCount(long[] shape, int elementSize)
    {
        long count = 1;
        foreach (var size in shape)
        {
            if (size < 0 || size > Array.MaxLength) return -1;
            count *= size;
            if (count * elementSize > Array.MaxLength) return -1;
        }
        return count;
    }

    /// <summary>The values of an integer array as int64.</summary>
    public long[] ToIntegers(string where, string what)
    {
        if (!Type.IsInteger)
            throw UserError.At(where, $"{what} have element type {Type}, not an integer type", "store the labels as integers");
        var values = new long[Count];
        var bytes = Data.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            var item = bytes.Slice(i * Type.Size, Type.Size);
            values[i] = (Type.Kind, Type.Size) switch
            {
                ('u', 1) => item[0],
                ('i', 1) => (sbyte)item[0],
                ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(item),
                ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(item),
                ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(item),
                ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(item),
                ('i', _) => BinaryPrimitives.ReadInt64LittleEndian(item),
                _ => ReadUInt64AsInt64(item, where, what),
            };
        }
        return values;
    }

    private static long ReadUInt64AsInt64(ReadOnlySpan<byte> item, string where, string what)
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(item);
        if (value > long.MaxValue) throw UserError.At(where, $"{what} hold the value {value}, too large for a class index",
            "labels must be class indices 0, 1, 2, …");
        return (long)value;
    }

    /// <summary>The array as a CPU tensor of its own element type (bool, integers, float32 or float64); uint16/32/64,
    /// which have no torch type here, as int64.</summary>
    public TorchSharp.torch.Tensor ToTensor(string where)
    {
        var dtype = (Type.Kind, Type.Size) switch
        {
            ('b', _) => TorchSharp.torch.ScalarType.Bool,
            ('u', 1) => TorchSharp.torch.ScalarType.Byte,
            ('i', 1) => TorchSharp.torch.ScalarType.Int8,
            ('i', 2) => TorchSharp.torch.ScalarType.Int16,
            ('i', 4) => TorchSharp.torch.ScalarType.Int32,
            ('f', 4) => TorchSharp.torch.ScalarType.Float32,
            ('f', 8) => TorchSharp.torch.ScalarType.Float64,
            _ => TorchSharp.torch.ScalarType.Int64,
        };
        if ((Type.Kind == 'u' && Type.Size > 1) || Type is { Kind: 'i', Size: 8 })
            return TorchSharp.torch.tensor(ToIntegers(where, "values"), Shape);
        var result = TorchSharp.torch.empty(Shape, dtype);
        if (Data.Length > 0) result.bytes = Data;
        return result;
    }

    /// <summary>The values as uint8 pixels: uint8 as they are, float32/float64 in [0, 1] as round(x·255).</summary>
    public byte[] ToPixels(string where, string what)
    {
        if (Type is { Kind: 'u', Size: 1 }) return Data;
        if (Type.Kind != 'f')
            throw UserError.At(where, $"{what} have element type {Type}", "store images as uint8 (0-255) or as float32/float64 in [0, 1]");
        var pixels = new byte[Count];
        var bytes = Data.AsSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            double value = Type.Size == 4
                ? BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4))
                : BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(i * 8, 8));
            // Round first so values a rounding error outside [0, 1] still count as 0 or 255.
            var scaled = Math.Round(value * 255.0);
            if (!(scaled >= 0 && scaled <= 255))
                throw UserError.At(where, $"{what} hold the float value {value} (element {i}), outside [0, 1]",
                    "store float images scaled to [0, 1], before any mean/std normalisation, or as uint8");
            pixels[i] = (byte)scaled;
        }
        return pixels;
    }
}
