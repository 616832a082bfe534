using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Mim4dd.Tests.Data;

/// <summary>Writes .npy arrays and .npz archives as numpy.save / numpy.savez do.</summary>
internal static class NpyWriter
{
    public static byte[] NpyBytes(string descr, long[] shape, byte[] data, int version = 1, bool fortranOrder = false)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shapeText}, }}";
        int prefix = version == 1 ? 10 : 12;
        // numpy pads the header with spaces to a multiple of 64 bytes and ends it with a newline.
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = Encoding.Latin1.GetBytes(dict + new string(' ', total - prefix - dict.Length - 1) + "\n");
        var npy = new MemoryStream();
        npy.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 });
        var length = new byte[version == 1 ? 2 : 4];
        if (version == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)header.Length);
        npy.Write(length);
        npy.Write(header);
        npy.Write(data);
        return npy.ToArray();
    }

    public static byte[] NpzBytes(IEnumerable<(string Name, byte[] Npy)> arrays, bool compressed = false)
    {
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, npy) in arrays)
            {
                var entry = archive.CreateEntry(name + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using var stream = entry.Open();
                stream.Write(npy);
            }
        }
        return zip.ToArray();
    }

    public static byte[] Floats(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    public static byte[] Doubles(double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    public static byte[] Int64s(long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    public static byte[] Int32s(int[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}
