using System.Collections;
using System.IO.Compression;
using Mim4dd.Data;
using Mim4dd.Runtime;
using Razorvine.Pickle;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// Reads what Python's <c>torch.save</c> writes (PyTorch ≥ 1.6: a zip of <c>data.pkl</c> and one raw file per tensor
/// storage) without running any of it: the pickle's opcodes are scanned first (<see cref="PickleScan"/>) so it can name
/// only tensor storages, the tensor rebuild function and OrderedDict; lists, tuples, dicts, numbers and strings come back
/// as Razorvine builds them (ArrayList, object[], Hashtable), tensors as CPU <see cref="Tensor"/>s.
/// </summary>
public static class TorchFile
{
    private static readonly Dictionary<string, ScalarType> Storages = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private static readonly IReadOnlySet<string> AllowedGlobals = Storages.Keys.Select(s => "torch." + s)
        .Concat(["torch._utils._rebuild_tensor_v2", "collections.OrderedDict"]).ToHashSet();

    // Razorvine's constructors are one table for the whole process, and TorchSharp.PyBridge (PtExport) registers its own
    // for torch's names: ours live under a module of our own, and Load renames the pickle's globals to it.
    private const string Module = "mim4dd_torchfile";

    static TorchFile()
    {
        foreach (var (name, type) in Storages) Unpickler.registerConstructor(Module, name, new StorageType(type));
        Unpickler.registerConstructor(Module, "_rebuild_tensor_v2", new RebuildTensor());
        Unpickler.registerConstructor(Module, "OrderedDict", new EmptyDict());
    }

    /// <summary>The object graph of a torch.save file; the caller disposes the tensors in it.</summary>
    public static object? Load(string path)
    {
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException)
        {
            throw UserError.At(path, "not a zip-format torch.save file (the legacy format of PyTorch < 1.6, or not a .pt at all)",
                "load it in Python and save it again with torch.save(obj, path) from PyTorch 1.6 or later");
        }
        using (zip)
        {
            var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
                ?? throw UserError.At(path, "the zip holds no data.pkl", "pass a file written by torch.save");
            var prefix = pickle.FullName[..^"data.pkl".Length];
            if (zip.GetEntry(prefix + "byteorder") is { } order && Text(order) != "little")
                throw UserError.At(path, "the tensors are stored big-endian", "save the file again on a little-endian machine");
            var bytes = Bytes(pickle);
            var globals = PickleScan.Check(bytes, path, AllowedGlobals, persistentIds: true);
            bytes = Renamed(bytes, globals);
            using var unpickler = new StorageUnpickler(zip, prefix, path);
            try { return unpickler.loads(bytes); }
            catch (Exception e) when (e is not UserError)
            {
                throw UserError.At(path, $"the pickle could not be read ({e.GetType().Name}: {e.Message})",
                    "save the file again with torch.save");
            }
            finally { unpickler.DisposeStorages(); }
        }
    }

    /// <summary>
    /// Writes one tensor as <c>torch.save(tensor, path)</c> does, so <c>torch.load(path)</c> gives the tensor itself (the
    /// MTT/DATM evaluation layout loads images_best.pt, labels_best.pt and lr_best.pt that way): a zip of the pickle
    /// <c>_rebuild_tensor_v2(storage 0, 0, size, stride, False, OrderedDict())</c> and the storage's raw bytes, stored
    /// uncompressed. Written atomically.
    /// </summary>
    public static void Save(string path, Tensor tensor)
    {
        using var data = tensor.detach().contiguous().cpu();
        var storage = Storages.FirstOrDefault(s => s.Value == data.dtype).Key
            ?? throw new ArgumentException($"no PyTorch storage for {data.dtype}", nameof(tensor));
        var name = Path.GetFileNameWithoutExtension(path);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            Entry(zip, $"{name}/data.pkl", Pickle(storage, data.shape, data.numel()));
            Entry(zip, $"{name}/byteorder", "little"u8.ToArray());
            Entry(zip, $"{name}/data/0", data.numel() == 0 ? [] : data.bytes.ToArray());
            Entry(zip, $"{name}/version", "3\n"u8.ToArray());
        });
    }

    private static void Entry(ZipArchive zip, string name, byte[] bytes)
    {
        using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(bytes);
    }

    /// <summary>The pickle (protocol 2) of one contiguous tensor whose storage is persistent id ('storage', type, '0', 'cpu', n).</summary>
    private static byte[] Pickle(string storage, long[] shape, long count)
    {
        var p = new List<byte> { 0x80, 2 };
        void Op(char op, string? line = null)
        {
            p.Add((byte)op);
            if (line is not null) p.AddRange(System.Text.Encoding.ASCII.GetBytes(line + "\n"));
        }
        void Text(string s)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(s);
            p.Add((byte)'X');
            p.AddRange(BitConverter.GetBytes(bytes.Length));
            p.AddRange(bytes);
        }
        void Int(long v)
        {
            if (v is < int.MinValue or > int.MaxValue)
            {
                p.Add(0x8a);   // LONG1: 8 little-endian bytes
                p.Add(8);
                p.AddRange(BitConverter.GetBytes(v));
            }
            else
            {
                p.Add((byte)'J');
                p.AddRange(BitConverter.GetBytes((int)v));
            }
        }
        void Tuple(IEnumerable<long> values)
        {
            Op('(');
            foreach (var v in values) Int(v);
            Op('t');
        }
        var stride = new long[shape.Length];
        for (int i = shape.Length - 1, step = 1; i >= 0; i--)
        {
            stride[i] = step;
            step *= (int)Math.Max(1, shape[i]);
        }
        Op('c', "torch._utils\n_rebuild_tensor_v2");
        Op('(');
        Op('(');
        Text("storage");
        Op('c', "torch\n" + storage);
        Text("0");
        Text("cpu");
        Int(count);
        Op('t');
        Op('Q');
        Int(0);
        Tuple(shape);
        Tuple(stride);
        p.Add(0x89);   // NEWFALSE: requires_grad
        Op('c', "collections\nOrderedDict");
        Op(')');
        Op('R');
        Op('t');
        Op('R');
        Op('.');
        return [.. p];
    }

    /// <summary>The pickle with each GLOBAL "module\nname\n" it names pointing at <see cref="Module"/> instead.</summary>
    private static byte[] Renamed(byte[] pickle, List<(int From, int To, string Global)> globals)
    {
        var renamed = new List<byte>(pickle.Length + 32 * globals.Count);
        int at = 0;
        foreach (var (from, to, global) in globals)
        {
            renamed.AddRange(pickle.AsSpan(at, from - at));
            renamed.AddRange(System.Text.Encoding.ASCII.GetBytes($"{Module}\n{global[(global.LastIndexOf('.') + 1)..]}\n"));
            at = to;
        }
        renamed.AddRange(pickle.AsSpan(at));
        return [.. renamed];
    }

    private static byte[] Bytes(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Text(ZipArchiveEntry entry) => System.Text.Encoding.ASCII.GetString(Bytes(entry)).Trim();

    private sealed record StorageType(ScalarType Type) : IObjectConstructor
    {
        public object construct(object[] args) => this;
    }

    /// <summary>One storage, as a 1-D tensor of its element type.</summary>
    private sealed record Storage(Tensor Data);

    private sealed class StorageUnpickler(ZipArchive zip, string prefix, string path) : Unpickler
    {
        // Tensors that share a storage (views) share one loaded copy.
        private readonly Dictionary<string, Storage> loaded = new();

        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] { Length: 5 } id || id[0] is not "storage" || id[1] is not StorageType type || id[2] is not string key)
                throw UserError.At(path, "a persistent id is not a tensor storage", "pass a file of tensors written by torch.save");
            if (loaded.TryGetValue(key, out var storage)) return storage;
            var entry = zip.GetEntry(prefix + "data/" + key)
                ?? throw UserError.At(path, $"storage {key} is missing from the zip", "the file is truncated; copy it again");
            var bytes = Bytes(entry);
            var data = empty(bytes.Length / ElementSize(type.Type), type.Type);
            if (bytes.Length > 0) data.bytes = bytes;
            return loaded[key] = new Storage(data);
        }

        private static int ElementSize(ScalarType type) => type switch
        {
            ScalarType.Float64 or ScalarType.Int64 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
            _ => 1,
        };

        /// <summary>The storages; the tensors built from them are copies.</summary>
        public void DisposeStorages()
        {
            foreach (var storage in loaded.Values) storage.Data.Dispose();
        }
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks): a copy of the view.</summary>
    private sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not Storage storage || args[2] is not object[] size || args[3] is not object[] stride)
                throw new PickleException("_rebuild_tensor_v2 with unexpected arguments");
            long[] Longs(object[] values) => values.Select(Convert.ToInt64).ToArray();
            using var view = storage.Data.as_strided(Longs(size), Longs(stride), Convert.ToInt64(args[1]));
            return view.clone().DetachFromDisposeScope();
        }
    }

    private sealed class EmptyDict : IObjectConstructor
    {
        public object construct(object[] args) => new Hashtable();
    }
}
