using System.Text;

namespace Mim4dd.Runtime;

/// <summary>
/// Reads the version requirements (.gnu.version_r) of an ELF64 shared library: which symbol versions it
/// needs and whether each is weak. The build marks TorchSharp's GLIBCXX_3.4.32 need weak
/// (Directory.Build.targets); this read-only walk lets tests and diagnostics check that it did.
/// </summary>
public static class ElfVersionNeeds
{
    public const ushort WeakFlag = 0x2;

    /// <summary>Every (version name, flags) pair the library requires.</summary>
    public static IReadOnlyList<(string Name, ushort Flags)> Read(string path)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F' || b[4] != 2 || b[5] != 1)
            throw UserError.At(path, "not a little-endian ELF64 file", "rebuild the project");
        long U64(long o) => (long)BitConverter.ToUInt64(b, (int)o);
        long U32(long o) => BitConverter.ToUInt32(b, (int)o);
        int U16(long o) => BitConverter.ToUInt16(b, (int)o);
        string Str(long o) { int e = (int)o; while (b[e] != 0) e++; return Encoding.ASCII.GetString(b, (int)o, e - (int)o); }
        long shoff = U64(0x28);
        int entsize = U16(0x3A), count = U16(0x3C), strndx = U16(0x3E);
        long Section(int i) => shoff + (long)i * entsize;
        long names = U64(Section(strndx) + 0x18);
        var result = new List<(string, ushort)>();
        for (int i = 0; i < count; i++)
        {
            if (Str(names + U32(Section(i))) != ".gnu.version_r") continue;
            long strings = U64(Section((int)U32(Section(i) + 0x28)) + 0x18);
            long need = U64(Section(i) + 0x18);
            for (long n = 0, records = U32(Section(i) + 0x2C); n < records; n++)
            {
                long aux = need + U32(need + 8);
                for (int a = 0, auxCount = U16(need + 2); a < auxCount; a++)
                {
                    result.Add((Str(strings + U32(aux + 8)), (ushort)U16(aux + 4)));
                    aux += U32(aux + 12);
                }
                need += U32(need + 12);
            }
        }
        return result;
    }
}
