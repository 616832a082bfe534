using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data):
/// simple, safe to read (no code), and loadable from Python with <c>safetensors.torch.load_file</c>.
/// </summary>
public static class SafeTensors
{
    private static readonly Dictionary<ScalarType, (string Name, int Size)> Types = new()
    {
        [ScalarType.Float32] = ("F32", 4), [ScalarType.Float64] = ("F64", 8), [ScalarType.Int64] = ("I64", 8),
        [ScalarType.Int32] = ("I32", 4), [ScalarType.Byte] = ("U8", 1),
    };

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is not null)
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (!Types.TryGetValue(t.dtype, out var type)) throw new ArgumentException($"{name}: dtype {t.dtype} not supported");
            var bytes = Bytes(t.detach().cpu().contiguous(), type.Size);
            header[name] = new JsonObject
            {
                ["dtype"] = type.Name,
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode?)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            blobs.Add(bytes);
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, s =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            s.Write(length);
            s.Write(json);
            for (int i = json.Length; i < padded; i++) s.WriteByte((byte)' ');
            foreach (var blob in blobs) s.Write(blob);
        });
    }

    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read ({e.Message})", "check the path"); }
        const string fix = "the file is corrupt or not a safetensors file; write it again";
        if (file.Length < 8) throw UserError.At(path, "too short for a safetensors file", fix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8)) throw UserError.At(path, "header length exceeds the file", fix);
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)headerLength)) as JsonObject
            ?? throw new JsonException("not an object"); }
        catch (Exception e) when (e is JsonException or ArgumentException) { throw UserError.At(path, $"bad header ({e.Message})", fix); }
        long dataStart = 8 + (long)headerLength;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                var dtypeName = node!["dtype"]!.GetValue<string>();
                var (dtype, (_, size)) = Types.FirstOrDefault(kv => kv.Value.Name == dtypeName);
                if (size == 0) throw UserError.At(path, $"tensor {name} has unsupported dtype {dtypeName}", fix);
                var shape = node["shape"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
                long count = shape.Aggregate(1L, (a, b) => checked(a * b));
                if (shape.Any(s => s < 0) || offsets.Length != 2 || offsets[1] - offsets[0] != count * size
                    || offsets[0] < 0 || dataStart + offsets[1] > file.Length)
                    throw UserError.At(path, $"tensor {name}: shape and data offsets disagree or exceed the file", fix);
                var t = empty(shape, dtype);
                t.bytes = file.AsSpan((int)(dataStart + offsets[0]), (int)(count * size));
                tensors[name] = t;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or OverflowException
            or KeyNotFoundException or ArgumentException)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw UserError.At(path, $"bad header entry ({e.Message})", fix);
        }
        return (tensors, metadata);
    }

    private static byte[] Bytes(Tensor t, int size)
    {
        var bytes = new byte[t.numel() * size];
        t.bytes.CopyTo(bytes);
        return bytes;
    }
}
