using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>
/// The expert file (<c>.m4e</c>), one trajectory: magic "M4DDEXP1", int32 little-endian length of the
/// JSON header, the UTF-8 JSON <see cref="ExpertMetadata"/>, the snapshots as float32 little-endian
/// row-major [snapshots, P], then the SHA-256 of every preceding byte. Written atomically.
/// </summary>
public static class ExpertFile
{
    public const string Extension = ".m4e";
    private const int PrefixBytes = 12;
    private const int HashBytes = 32;
    private const int MaxHeaderBytes = 1 << 20;
    private const string Retrain = "delete it and run `mim4dd experts` again to retrain that expert";
    private static readonly byte[] Magic = "M4DDEXP1"u8.ToArray();

    private static readonly JsonSerializerOptions Json = new()
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        // The header is read by people too: keep '+' in version strings as it is.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // Raw float32 bytes are written in the machine's order, and the format says little-endian.
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("expert files need a little-endian machine");
    }

    public static void Save(string path, ExpertTrajectory trajectory)
    {
        RequireLittleEndian();
        var header = JsonSerializer.SerializeToUtf8Bytes(trajectory.Metadata, Json);
        var prefix = new byte[PrefixBytes];
        Magic.CopyTo(prefix, 0);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(8), header.Length);
        using var scope = NewDisposeScope();
        var snapshots = trajectory.Snapshots.contiguous();
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Write(stream, hash, prefix);
            Write(stream, hash, header);
            // Row by row: a whole trajectory of a large net exceeds the 2 GB a span can address.
            for (long row = 0; row < snapshots.shape[0]; row++)
            {
                using var view = snapshots[row];
                Write(stream, hash, view.bytes);
            }
            stream.Write(hash.GetHashAndReset());
        });
    }

    /// <summary>Reads and verifies a whole file; anything wrong with it is a <see cref="UserError"/>.</summary>
    public static ExpertTrajectory Load(string path)
    {
        RequireLittleEndian();
        using var stream = Open(path);
        var (metadata, headerBytes) = ReadHeader(path, stream);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(headerBytes);
        var snapshots = empty(new long[] { metadata.Snapshots, metadata.ParameterCount }, ScalarType.Float32).DetachFromDisposeScope();
        try
        {
            for (long row = 0; row < metadata.Snapshots; row++)
            {
                using var view = snapshots[row];
                var target = view.bytes;
                stream.ReadExactly(target);
                hash.AppendData(target);
            }
            var stored = new byte[HashBytes];
            stream.ReadExactly(stored);
            if (!hash.GetHashAndReset().AsSpan().SequenceEqual(stored))
                throw UserError.At(path, "the expert file's checksum does not match its contents (the file is corrupt)", Retrain);
            return new ExpertTrajectory(metadata, snapshots);
        }
        catch (Exception e) when (e is UserError or EndOfStreamException or IOException)
        {
            snapshots.Dispose();
            if (e is UserError) throw;
            throw UserError.At(path, $"cannot read the expert file ({e.Message})", Retrain);
        }
    }

    /// <summary>The header alone, with the file's size checked against it but not its checksum (cheap: for listing a store).</summary>
    public static ExpertMetadata ReadMetadata(string path)
    {
        using var stream = Open(path);
        return ReadHeader(path, stream).Metadata;
    }

    private static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read the expert file ({e.Message})", "check the path and permissions"); }
    }

    /// <returns>The metadata and every byte before the snapshots (for the checksum).</returns>
    private static (ExpertMetadata Metadata, byte[] HeaderBytes) ReadHeader(string path, FileStream stream)
    {
        long length = stream.Length;
        var prefix = new byte[PrefixBytes];
        int got = stream.ReadAtLeast(prefix, PrefixBytes, throwOnEndOfStream: false);
        int compared = Math.Min(got, Magic.Length);
        if (!prefix.AsSpan(0, compared).SequenceEqual(Magic.AsSpan(0, compared)))
            throw UserError.At(path, "not a mim4dd expert file (wrong magic header)",
                "pass a file written by `mim4dd experts`, or " + Retrain);
        if (length < PrefixBytes + HashBytes)
            throw UserError.At(path, $"the expert file is truncated ({length} bytes)", Retrain);
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(8));
        if (headerLength < 2 || headerLength > MaxHeaderBytes || PrefixBytes + headerLength + HashBytes > length)
            throw UserError.At(path, $"the expert file declares a {headerLength}-byte header in {length} bytes "
                + $"(the file is corrupt or truncated)", Retrain);
        var bytes = new byte[PrefixBytes + headerLength];
        prefix.CopyTo(bytes, 0);
        stream.ReadExactly(bytes, PrefixBytes, headerLength);
        var metadata = Parse(path, bytes.AsSpan(PrefixBytes));
        long expected = checked(PrefixBytes + headerLength + 4 * metadata.Snapshots * metadata.ParameterCount + HashBytes);
        if (length != expected)
            throw UserError.At(path, $"the expert file holds {length} bytes but its header implies {expected}",
                (length < expected ? "the file is truncated; " : "the file has trailing bytes; ") + Retrain);
        return (metadata, bytes);
    }

    private static ExpertMetadata Parse(string path, ReadOnlySpan<byte> json)
    {
        ExpertMetadata? metadata;
        try { metadata = JsonSerializer.Deserialize<ExpertMetadata>(json, Json); }
        catch (JsonException e)
        { throw UserError.At(path, $"the expert file's header is not valid ({e.Message.Split('\n')[0]}; the file is corrupt)", Retrain); }
        // Bounds that keep the size arithmetic honest before anything is allocated from them.
        if (metadata is null || metadata.Dataset.Length == 0 || metadata.Arch.Length == 0
            || metadata.ParameterCount is < 1 or > 1L << 34 || metadata.Snapshots is < 1 or > 1 << 20
            || !(metadata.LearningRate > 0) || !double.IsFinite(metadata.LearningRate) || metadata.ExpertIndex < 0)
            throw UserError.At(path, "the expert file's header has impossible values (the file is corrupt)", Retrain);
        return metadata;
    }

    private static void Write(Stream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        hash.AppendData(bytes);
        stream.Write(bytes);
    }
}
