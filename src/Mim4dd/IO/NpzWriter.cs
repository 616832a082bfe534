using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>Writes tensors as a numpy .npz (a zip of .npy v1 files), so `numpy.load` reads a synthetic set directly.</summary>
public static class NpzWriter
{
    private static readonly Dictionary<ScalarType, (string Descr, int Size)> Types = new()
    {
        [ScalarType.Float32] = ("<f4", 4), [ScalarType.Float64] = ("<f8", 8), [ScalarType.Int64] = ("<i8", 8),
        [ScalarType.Byte] = ("|u1", 1),
    };

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> arrays) => AtomicFile.Write(path, stream =>
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, tensor) in arrays)
        {
            using var entry = zip.CreateEntry($"{name}.npy", CompressionLevel.Fastest).Open();
            entry.Write(Npy(tensor.detach().cpu().contiguous()));
        }
    });

    private static byte[] Npy(Tensor t)
    {
        if (!Types.TryGetValue(t.dtype, out var type)) throw new ArgumentException($"dtype {t.dtype} cannot be written to .npy");
        var shape = t.shape.Length == 1 ? $"({t.shape[0]},)" : $"({string.Join(", ", t.shape)})";
        var header = $"{{'descr': '{type.Descr}', 'fortran_order': False, 'shape': {shape}, }}";
        // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64 (numpy's alignment).
        int padding = 63 - (10 + header.Length) % 64;
        header += new string(' ', padding) + "\n";
        var bytes = new byte[10 + header.Length + t.numel() * type.Size];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }.CopyTo(bytes, 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 2), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        t.bytes.CopyTo(bytes.AsSpan(10 + header.Length));
        return bytes;
    }
}
