using System.Buffers.Binary;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// Catches truncated BMP and JPEG files before decoding: stb_image fills missing pixel data with zeros for
/// these formats instead of failing, so a cut-off download would otherwise load as a partly black image.
/// (Truncated PNGs already fail in the decoder.)
/// </summary>
internal static class ImageChecks
{
    public static void RequireComplete(byte[] bytes, string path)
    {
        if (bytes.Length >= 2 && bytes[0] == 'B' && bytes[1] == 'M') CheckBmp(bytes, path);
        else if (bytes.Length >= 2 && bytes[0] == 0xff && bytes[1] == 0xd8) CheckJpeg(bytes, path);
    }

    private static UserError Truncated(string path, string format) =>
        UserError.At(path, $"the {format} file is truncated", "replace the file with a complete copy or remove it");

    private static void CheckBmp(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < 26) throw Truncated(path, "BMP");
        long dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(bytes[10..]);
        long headerSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes[14..]);
        long width, height, bitsPerPixel, compression = 0;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(bytes[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(bytes[20..]);
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(bytes[24..]);
        }
        else
        {
            if (bytes.Length < 34) throw Truncated(path, "BMP");
            width = BinaryPrimitives.ReadInt32LittleEndian(bytes[18..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(bytes[22..]));
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(bytes[28..]);
            compression = BinaryPrimitives.ReadUInt32LittleEndian(bytes[30..]);
        }
        // Only uncompressed layouts (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) have a size known from the header.
        if (compression is not (0 or 3 or 6) || width <= 0 || bitsPerPixel is <= 0 or > 32) return;
        long rowBytes = (bitsPerPixel * width + 31) / 32 * 4;
        if (dataOffset + rowBytes * height > bytes.Length) throw Truncated(path, "BMP");
    }

    /// <summary>Walks the JPEG's marker segments and entropy-coded scans up to the end-of-image marker.</summary>
    private static void CheckJpeg(ReadOnlySpan<byte> bytes, string path)
    {
        int position = 2;
        while (true)
        {
            // Tolerate stray bytes and fill bytes before a marker, as decoders do.
            while (position < bytes.Length && bytes[position] != 0xff) position++;
            while (position < bytes.Length && bytes[position] == 0xff) position++;
            if (position >= bytes.Length) throw Truncated(path, "JPEG");
            byte marker = bytes[position++];
            if (marker == 0xd9) return;
            if (marker is 0x01 or (>= 0xd0 and <= 0xd7)) continue;
            if (position + 2 > bytes.Length) throw Truncated(path, "JPEG");
            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[position..]);
            if (length < 2) throw UserError.At(path, "the JPEG file is corrupt (bad segment length)", "replace the file or remove it");
            position += length;
            if (position > bytes.Length) throw Truncated(path, "JPEG");
            if (marker == 0xda) position = EndOfScan(bytes, position);
        }
    }

    /// <summary>The offset of the first marker after entropy-coded data (0xFF 0x00 is a stuffed byte and
    /// 0xFF 0xD0-D7 a restart marker, both part of the data).</summary>
    private static int EndOfScan(ReadOnlySpan<byte> bytes, int position)
    {
        while (position + 1 < bytes.Length)
        {
            if (bytes[position] == 0xff)
            {
                byte next = bytes[position + 1];
                if (next != 0x00 && next != 0xff && next is not (>= 0xd0 and <= 0xd7)) return position;
            }
            position++;
        }
        return bytes.Length;
    }
}
