using System.Buffers.Binary;
using System.Text;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// Walks a pickle's opcodes before anything unpickles it: every opcode must be known and complete, and every
/// global it names (GLOBAL, INST, STACK_GLOBAL) must be on an allow-list. A global is how a pickle reaches
/// code, so refusing all others up front means nothing outside the list is ever looked up or constructed.
/// </summary>
internal static class PickleScan
{
    /// <param name="persistentIds">Accept persistent ids (PyTorch's tensor storages), which the caller resolves itself.</param>
    /// <returns>Where each GLOBAL opcode's "module\nname\n" text lies (from, to) and the global it names.</returns>
    public static List<(int From, int To, string Global)> Check(ReadOnlySpan<byte> bytes, string where, IReadOnlySet<string> allowedGlobals,
        bool persistentIds = false)
    {
        var globals = new List<(int From, int To, string Global)>();
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
            throw UserError.At(where, "this is a gzip archive, not a pickle", "extract the .tar.gz archive and pass the folder it creates");
        var reader = new Reader(bytes, where);
        // Strings pushed by the last two opcodes (null when not a string or unknown), and the strings in the
        // memo, so that STACK_GLOBAL's module and name can be checked without running anything.
        string? below = null, top = null;
        var memo = new Dictionary<int, string?>();
        while (true)
        {
            int offset = reader.Position;
            byte opcode = reader.Byte();
            string? pushed = null;
            bool keepsStack = false;
            switch (opcode)
            {
                case (byte)'.': return globals;
                case (byte)'(' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or (byte)'R' or (byte)'a' or (byte)'b'
                    or (byte)'d' or (byte)'}' or (byte)'e' or (byte)'l' or (byte)']' or (byte)'o' or (byte)'s' or (byte)'t'
                    or (byte)')' or (byte)'u' or 0x81 or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91 or 0x92:
                    break;
                case (byte)'F' or (byte)'I' or (byte)'L' or (byte)'S' or (byte)'V':
                    reader.Line();
                    break;
                case (byte)'K': reader.Skip(1); break;
                case (byte)'M': reader.Skip(2); break;
                case (byte)'J': reader.Skip(4); break;
                case (byte)'G': reader.Skip(8); break;
                case 0x8a: reader.Skip(reader.Byte()); break;
                case 0x8b: reader.Skip(reader.Int32()); break;
                case (byte)'T': pushed = Latin1(reader.Take(reader.Int32())); break;
                case (byte)'U': pushed = Latin1(reader.Take(reader.Byte())); break;
                case (byte)'X': pushed = Utf8(reader.Take(reader.UInt32())); break;
                case 0x8c: pushed = Utf8(reader.Take(reader.Byte())); break;
                case 0x8d: pushed = Utf8(reader.Take(reader.UInt64())); break;
                case (byte)'C': reader.Skip(reader.Byte()); break;
                case (byte)'B': reader.Skip(reader.UInt32()); break;
                case 0x8e or 0x96: reader.Skip(reader.UInt64()); break;
                case 0x80 or 0x95:
                    reader.Skip(opcode == 0x80 ? 1 : 8);
                    keepsStack = true;
                    break;
                case (byte)'p' or (byte)'q' or (byte)'r' or 0x94:
                    int slot = opcode switch
                    {
                        (byte)'p' => ParseIndex(reader.Line()),
                        (byte)'q' => reader.Byte(),
                        (byte)'r' => reader.Int32(),
                        _ => memo.Count,
                    };
                    memo[slot] = top;
                    keepsStack = true;
                    break;
                case (byte)'g' or (byte)'h' or (byte)'j':
                    int key = opcode switch
                    {
                        (byte)'g' => ParseIndex(reader.Line()),
                        (byte)'h' => reader.Byte(),
                        _ => reader.Int32(),
                    };
                    pushed = memo.GetValueOrDefault(key);
                    break;
                case (byte)'c' or (byte)'i':
                    var module = Utf8(reader.Line());
                    var name = Utf8(reader.Line());
                    Allow(module + "." + name, where, offset, allowedGlobals);
                    if (opcode == (byte)'c') globals.Add((offset + 1, reader.Position, module + "." + name));
                    break;
                case 0x93:
                    if (below is null || top is null)
                        throw UserError.At(where, $"the pickle names a Python global it builds at run time (STACK_GLOBAL at byte {offset})",
                            "only plain numpy arrays, lists and dicts are accepted; re-save the data with numpy");
                    Allow(below + "." + top, where, offset, allowedGlobals);
                    break;
                case (byte)'Q' when persistentIds:
                    break;
                case (byte)'P' when persistentIds:
                    reader.Line();
                    break;
                case (byte)'P' or (byte)'Q':
                    throw UserError.At(where, $"the pickle uses persistent ids (byte {offset}), which this reader does not resolve",
                        "re-save the data as plain numpy arrays");
                case 0x82 or 0x83 or 0x84:
                    throw UserError.At(where, $"the pickle uses copyreg extension codes (byte {offset})",
                        "re-save the data as plain numpy arrays");
                case 0x97 or 0x98:
                    throw UserError.At(where, $"the pickle uses out-of-band buffers (byte {offset})",
                        "re-save the data with pickle protocol 4 or lower");
                default:
                    throw UserError.At(where, $"byte 0x{opcode:x2} at offset {offset} is not a pickle opcode",
                        "this is not a Python pickle, or it is corrupt; download it again");
            }
            if (keepsStack) continue;
            (below, top) = pushed is null ? (null, null) : (top, pushed);
        }
    }

    private static void Allow(string global, string where, int offset, IReadOnlySet<string> allowedGlobals)
    {
        if (!allowedGlobals.Contains(global))
            throw UserError.At(where, $"the pickle refers to the Python global '{Printable(global)}' (byte {offset}), which is not allowed",
                "only numpy arrays, lists, dicts, numbers and strings are read; pickles can run code, so use the original dataset files");
    }

    private static int ParseIndex(ReadOnlySpan<byte> line) =>
        int.TryParse(Encoding.ASCII.GetString(line), out var index) ? index : -1;

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static string Printable(string text)
    {
        var clipped = text.Length > 80 ? text[..80] + "…" : text;
        return new string(clipped.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes, string where)
    {
        private readonly ReadOnlySpan<byte> bytes = bytes;
        private readonly string where = where;

        public int Position { get; private set; }

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public long UInt64()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
            return value > long.MaxValue ? long.MaxValue : (long)value;
        }

        public void Skip(long count) => Take(count);

        public ReadOnlySpan<byte> Take(long count)
        {
            if (count < 0 || count > bytes.Length - Position)
                throw UserError.At(where,
                    $"the pickle is truncated or corrupt (an item at byte {Position} needs {count} bytes, "
                    + $"{bytes.Length - Position} are left)",
                    "download the file again");
            var taken = bytes.Slice(Position, (int)count);
            Position += (int)count;
            return taken;
        }

        public ReadOnlySpan<byte> Line()
        {
            int end = bytes[Position..].IndexOf((byte)'\n');
            if (end < 0) Take(bytes.Length - Position + 1);
            var line = Take(end);
            Skip(1);
            return line;
        }
    }
}
