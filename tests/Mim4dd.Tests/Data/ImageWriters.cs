using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Mim4dd.Tests.Data;

/// <summary>Minimal PNG and BMP encoders for test images (8-bit, no interlace, filter 0 on every row).</summary>
internal static class ImageWriters
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>A PNG of interleaved 8-bit pixels with 1 (gray), 3 (RGB) or 4 (RGBA) channels.</summary>
    public static byte[] Png(int width, int height, int channels, byte[] pixels)
    {
        byte colorType = channels switch { 1 => 0, 2 => 4, 3 => 2, 4 => 6, _ => throw new ArgumentException("channels") };
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colorType;
        var raw = new MemoryStream();
        int stride = width * channels;
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            raw.Write(pixels, y * stride, stride);
        }
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            raw.WriteTo(zlib);
        var png = new MemoryStream();
        png.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a });
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    /// <summary>A 24-bit BMP of interleaved RGB pixels.</summary>
    public static byte[] Bmp(int width, int height, byte[] rgb)
    {
        int rowBytes = (width * 3 + 3) & ~3;
        int dataOffset = 14 + 40;
        var bmp = new byte[dataOffset + rowBytes * height];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), dataOffset);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        for (int y = 0; y < height; y++)
        {
            // BMP rows run bottom-up, pixels as B, G, R.
            int target = dataOffset + (height - 1 - y) * rowBytes;
            for (int x = 0; x < width; x++)
            {
                int source = (y * width + x) * 3;
                bmp[target + x * 3] = rgb[source + 2];
                bmp[target + x * 3 + 1] = rgb[source + 1];
                bmp[target + x * 3 + 2] = rgb[source];
            }
        }
        return bmp;
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        png.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xffffffff;
        foreach (var b in bytes) crc = CrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
        return crc ^ 0xffffffff;
    }

    private static uint[] MakeCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
