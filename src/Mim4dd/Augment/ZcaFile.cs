using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Augment;

/// <summary>
/// The ZCA file: a 40-byte little-endian header (magic "MIM4DZCA", int32 format version, int32 C, H, W,
/// float64 ε, int64 fit count), then float64 μ [D], S [D] and U [D, D] row-major, then the SHA-256 of all
/// preceding bytes. The fit is stored rather than the matrices: half the size, and both matrices follow from it.
/// </summary>
internal static class ZcaFile
{
    private const int Version = 1;
    private const int HeaderBytes = 40;
    private const int HashBytes = 32;
    private const string Refit = "delete it and fit the ZCA again";
    private static readonly byte[] Magic = "MIM4DZCA"u8.ToArray();

    // Raw float64 bytes are written in the machine's order, and the format says little-endian.
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ZCA files need a little-endian machine");
    }

    internal static void Save(Zca zca, string path)
    {
        RequireLittleEndian();
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), checked((int)zca.Channels));
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), checked((int)zca.Height));
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), checked((int)zca.Width));
        BinaryPrimitives.WriteDoubleLittleEndian(header.AsSpan(24), zca.Regularization);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), zca.FitCount);
        var pieces = new[] { zca.Mean, zca.Eigenvalues, zca.Eigenvectors }
            .Select(tensor => tensor.contiguous().data<double>().ToArray()).ToArray();
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Write(stream, hash, header);
            foreach (var piece in pieces) Write(stream, hash, MemoryMarshal.AsBytes(piece.AsSpan()));
            stream.Write(hash.GetHashAndReset());
        });
    }

    internal static Zca Load(string path)
    {
        RequireLittleEndian();
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read the ZCA file ({e.Message})", "check the path and permissions"); }

        int prefix = Math.Min(bytes.Length, Magic.Length);
        if (!bytes.AsSpan(0, prefix).SequenceEqual(Magic.AsSpan(0, prefix)))
            throw UserError.At(path, "not a mim4dd ZCA file (wrong magic header)", "pass a file written by the ZCA fit, or " + Refit);
        if (bytes.Length < HeaderBytes + HashBytes)
            throw UserError.At(path, $"the ZCA file is truncated ({bytes.Length} bytes)", Refit);
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version)
            throw UserError.At(path, $"ZCA file format version {version} is not supported (this build reads {Version})", Refit);
        long channels = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        long height = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16));
        long width = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20));
        if (channels <= 0 || height <= 0 || width <= 0)
            throw UserError.At(path, $"the ZCA file declares images of shape [{channels}, {height}, {width}]", Refit);
        long dimension = channels * height * width;
        // Reject sizes the header cannot honestly describe before multiplying them into a byte count.
        if (dimension > int.MaxValue / 8)
            throw UserError.At(path, $"the ZCA file declares {dimension} values per image, too many to be real", Refit);
        long expected = HeaderBytes + 8 * (2 * dimension + dimension * dimension) + HashBytes;
        if (bytes.Length != expected)
            throw UserError.At(path, $"the ZCA file holds {bytes.Length} bytes but its header implies {expected}",
                bytes.Length < expected ? "the file is truncated; " + Refit : "the file has trailing bytes; " + Refit);
        var stored = bytes.AsSpan(bytes.Length - HashBytes);
        if (!SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashBytes)).AsSpan().SequenceEqual(stored))
            throw UserError.At(path, "the ZCA file's checksum does not match its contents (the file is corrupt)", Refit);
        double regularization = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(24));
        long fitCount = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32));
        if (!(regularization > 0) || double.IsInfinity(regularization) || fitCount < 2)
            throw UserError.At(path, $"the ZCA file declares ε = {regularization} and {fitCount} fitted images", Refit);

        int offset = HeaderBytes;
        Tensor Next(long[] shape)
        {
            long count = shape.Aggregate(1L, (product, size) => product * size);
            var values = MemoryMarshal.Cast<byte, double>(bytes.AsSpan(offset, checked((int)(8 * count)))).ToArray();
            offset += checked((int)(8 * count));
            return tensor(values, shape, ScalarType.Float64);
        }
        var mean = Next([dimension]);
        var eigenvalues = Next([dimension]);
        var eigenvectors = Next([dimension, dimension]);
        return new Zca(channels, height, width, regularization, fitCount, mean, eigenvalues, eigenvectors);
    }

    private static void Write(Stream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        hash.AppendData(bytes);
        stream.Write(bytes);
    }
}
