using System.Buffers.Binary;
using System.Text;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// The .npy format: "\x93NUMPY", version major/minor, a little-endian header length (2 bytes in v1, 4 in
/// v2/v3), a Python dict literal {'descr': '&lt;u1', 'fortran_order': False, 'shape': (N, …)}, then raw data.
/// </summary>
internal static class Npy
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };
    private const int MaxHeaderLength = 1 << 20;

    /// <summary>Reads one array from <paramref name="stream"/>, which must hold exactly
    /// <paramref name="length"/> bytes (the size the zip directory gives).</summary>
    public static NdArray Read(Stream stream, long length, string where)
    {
        var prefix = ReadExactly(stream, 8, where, "header");
        if (!prefix.AsSpan(0, 6).SequenceEqual(Magic))
            throw UserError.At(where, "not a .npy array (no \\x93NUMPY magic)", "save arrays with numpy.save / numpy.savez");
        int major = prefix[6];
        if (major is not (1 or 2 or 3))
            throw UserError.At(where, $".npy format version {major}.{prefix[7]} is not supported (only 1, 2, 3)",
                "save with a current numpy");
        int sizeBytes = major == 1 ? 2 : 4;
        var sizeField = ReadExactly(stream, sizeBytes, where, "header");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(sizeField)
            : BinaryPrimitives.ReadUInt32LittleEndian(sizeField);
        if (headerLength > MaxHeaderLength || headerLength > length - 8 - sizeBytes)
            throw UserError.At(where, $"the .npy header claims {headerLength} bytes", "the file is corrupt; save it again");
        var headerBytes = ReadExactly(stream, (int)headerLength, where, "header");
        // Version 3 exists only to allow UTF-8 field names; 1 and 2 are latin-1.
        var header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var (descr, fortranOrder, shape) = ParseHeader(header, where);
        if (!NumpyType.TryParse(descr, out var type, out var byteOrder))
            throw UserError.At(where, $"element type '{descr}' is not supported",
                "store bool, integer or float arrays (no objects, strings or records)");
        if (byteOrder == '>')
            throw UserError.At(where, $"element type '{descr}' is big-endian",
                "convert with array.astype(array.dtype.newbyteorder('<')) before saving");
        if (fortranOrder && shape.Count(size => size > 1) > 1)
            throw UserError.At(where, "the array is in Fortran (column-major) order", "save numpy.ascontiguousarray(array) instead");
        long count = NdArray.ElementCount(shape, type.Size);
        if (count < 0)
            throw UserError.At(where, $"the array shape ({string.Join(", ", shape)}) is too large", "split the data into smaller arrays");
        long dataLength = count * type.Size, available = length - 8 - sizeBytes - headerLength;
        if (available != dataLength)
            throw UserError.At(where,
                $"the header declares {type} [{string.Join(", ", shape)}] = {dataLength} bytes but {available} follow",
                available < dataLength ? "the file is truncated; save it again" : "the file has trailing bytes; save it again");
        var data = ReadExactly(stream, (int)dataLength, where, "data");
        return new NdArray(type, shape, data);
    }

    private static byte[] ReadExactly(Stream stream, int count, string where, string part)
    {
        var buffer = new byte[count];
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw UserError.At(where, $"the .npy {part} is truncated", "the file is corrupt; save it again"); }
        return buffer;
    }

    private static (string Descr, bool FortranOrder, long[] Shape) ParseHeader(string header, string where)
    {
        var parser = new LiteralParser(header, where);
        var entries = parser.ParseDict();
        if (entries.GetValueOrDefault("descr") is not string descr)
            throw UserError.At(where, "the .npy header has no simple 'descr' type", "store bool, integer or float arrays (no records)");
        if (entries.GetValueOrDefault("fortran_order") is not bool fortranOrder)
            throw UserError.At(where, "the .npy header has no 'fortran_order'", "the file is corrupt; save it again");
        if (entries.GetValueOrDefault("shape") is not long[] shape)
            throw UserError.At(where, "the .npy header has no 'shape' tuple", "the file is corrupt; save it again");
        return (descr, fortranOrder, shape);
    }

    /// <summary>Parses the small Python literal subset .npy headers use: a dict of string keys to strings,
    /// True/False and tuples of integers.</summary>
    private ref struct LiteralParser(string text, string where)
    {
        private readonly string text = text;
        private readonly string where = where;
        private int position;

        public Dictionary<string, object> ParseDict()
        {
            var entries = new Dictionary<string, object>();
            Expect('{');
            while (!TryTake('}'))
            {
                var key = ParseString();
                Expect(':');
                entries[key] = ParseValue();
                if (!TryTake(',')) { Expect('}'); break; }
            }
            SkipSpace();
            if (position != text.Length) throw Corrupt("text after the header dict");
            return entries;
        }

        private object ParseValue()
        {
            SkipSpace();
            if (position < text.Length && text[position] is '\'' or '"') return ParseString();
            if (TryTake('(')) return ParseTuple();
            if (TryWord("True")) return true;
            if (TryWord("False")) return false;
            // Structured dtypes write a list of fields here; those are not images or labels.
            if (TryTake('[')) throw UserError.At(where, "the array has a structured (record) type",
                "store plain bool, integer or float arrays");
            throw Corrupt("a value that is not a string, True/False or a tuple");
        }

        private long[] ParseTuple()
        {
            var sizes = new List<long>();
            while (!TryTake(')'))
            {
                SkipSpace();
                int start = position;
                while (position < text.Length && char.IsAsciiDigit(text[position])) position++;
                if (!long.TryParse(text.AsSpan(start, position - start), out var size))
                    throw Corrupt("a shape entry that is not an integer");
                TryTake('L');
                sizes.Add(size);
                if (!TryTake(',')) { Expect(')'); break; }
            }
            return sizes.ToArray();
        }

        private string ParseString()
        {
            SkipSpace();
            if (position >= text.Length || text[position] is not ('\'' or '"')) throw Corrupt("a key that is not a quoted string");
            char quote = text[position++];
            int end = text.IndexOf(quote, position);
            if (end < 0) throw Corrupt("an unterminated string");
            var value = text[position..end];
            position = end + 1;
            return value;
        }

        private bool TryWord(string word)
        {
            if (string.CompareOrdinal(text, position, word, 0, word.Length) != 0) return false;
            position += word.Length;
            return true;
        }

        private bool TryTake(char expected)
        {
            SkipSpace();
            if (position >= text.Length || text[position] != expected) return false;
            position++;
            return true;
        }

        private void Expect(char expected)
        {
            if (!TryTake(expected)) throw Corrupt($"no '{expected}' at character {position}");
        }

        private void SkipSpace()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position])) position++;
        }

        private readonly UserError Corrupt(string problem) =>
            UserError.At(where, $"the .npy header is not a valid dict ({problem})", "the file is corrupt; save it again");
    }
}
