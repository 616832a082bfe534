using System.Buffers.Binary;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Data;

/// <summary>
/// The IDX format (LeCun's MNIST files): magic 0x0000TTDD (type TT, DD dimensions), DD big-endian
/// int32 sizes, then the data in row-major order. Any IDX file reads, not only MNIST; only the uint8
/// type is supported, which is what image and label files use.
/// </summary>
public static class Idx
{
    private const byte UInt8Type = 0x08;

    /// <summary>Reads an IDX uint8 file into a uint8 tensor of its shape.</summary>
    public static Tensor Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read ({e.Message})", "check the path and permissions"); }
        return Parse(bytes, path);
    }

    /// <summary>Parses IDX bytes; <paramref name="where"/> names the source in errors.</summary>
    public static Tensor Parse(ReadOnlySpan<byte> bytes, string where)
    {
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw UserError.At(where, "not an IDX file (magic number must start with two zero bytes)",
                "pass an IDX file such as train-images-idx3-ubyte");
        if (bytes[2] != UInt8Type)
            throw UserError.At(where, $"IDX data type 0x{bytes[2]:x2} is not supported (only uint8, 0x08)",
                "convert the data to uint8 IDX");
        int dims = bytes[3];
        if (dims < 1 || dims > 8)
            throw UserError.At(where, $"IDX header declares {dims} dimensions", "the file is corrupt; fetch it again");
        if (bytes.Length < 4 + 4 * dims)
            throw UserError.At(where, "truncated IDX header", "the file is corrupt; fetch it again");
        var shape = new long[dims];
        long count = 1;
        for (int d = 0; d < dims; d++)
        {
            shape[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4 + 4 * d, 4));
            if (shape[d] < 0 || shape[d] > int.MaxValue)
                throw UserError.At(where, $"IDX dimension {d} has size {shape[d]}", "the file is corrupt; fetch it again");
            count *= shape[d];
            if (count > int.MaxValue) throw UserError.At(where, "IDX header declares more than 2^31 values", "the file is corrupt");
        }
        int header = 4 + 4 * dims;
        if (bytes.Length - header != count)
            throw UserError.At(where, $"IDX header declares {count} values but the file holds {bytes.Length - header}",
                bytes.Length - header < count ? "the file is truncated; fetch it again" : "the file has trailing bytes; fetch it again");
        var data = bytes.Slice(header).ToArray();
        return tensor(data, shape, ScalarType.Byte);
    }

    /// <summary>Writes a uint8 tensor as an IDX file, atomically.</summary>
    public static void Write(string path, Tensor values)
    {
        if (values.dtype != ScalarType.Byte) throw new ArgumentException("IDX writer takes uint8 tensors");
        var shape = values.shape;
        var header = new byte[4 + 4 * shape.Length];
        header[2] = UInt8Type;
        header[3] = (byte)shape.Length;
        for (int d = 0; d < shape.Length; d++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), checked((int)shape[d]));
        var data = values.contiguous().data<byte>().ToArray();
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(data);
        });
    }

    /// <summary>Reads an images file [N, H, W] or [N, C, H, W] and a labels file [N] into a dataset.</summary>
    public static Dataset ReadPair(string imagesPath, string labelsPath, IReadOnlyList<string>? classNames = null)
    {
        var images = Read(imagesPath);
        var labels = Read(labelsPath);
        if (images.dim() == 3) images = images.unsqueeze(1);
        if (images.dim() != 4)
            throw UserError.At(imagesPath, $"expected images [N, H, W] or [N, C, H, W], got {images.dim()} dimensions",
                "pass an IDX image file");
        if (labels.dim() != 1)
            throw UserError.At(labelsPath, $"expected labels [N], got {labels.dim()} dimensions", "pass an IDX label file");
        if (labels.shape[0] != images.shape[0])
            throw UserError.At(labelsPath, $"{labels.shape[0]} labels for {images.shape[0]} images in {imagesPath}",
                "use the label file that belongs to the image file");
        var numClasses = labels.numel() == 0 ? 0 : labels.max().item<byte>() + 1;
        classNames ??= Enumerable.Range(0, numClasses).Select(i => i.ToString()).ToArray();
        if (numClasses > classNames.Count)
            throw UserError.At(labelsPath, $"label {numClasses - 1} is out of range for {classNames.Count} classes",
                "the file is corrupt or belongs to another dataset");
        return new Dataset(images, labels.to_type(ScalarType.Int64), classNames);
    }
}
