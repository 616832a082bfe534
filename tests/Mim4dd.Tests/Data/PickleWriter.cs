using System.Buffers.Binary;
using System.Text;

namespace Mim4dd.Tests.Data;

/// <summary>Emits pickle opcodes by hand, as Python 2's cPickle writes CIFAR batches at protocol 2.</summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream stream = new();

    public PickleWriter Op(params byte[] bytes)
    {
        stream.Write(bytes);
        return this;
    }

    public PickleWriter Proto(int version) => Op(0x80, (byte)version);
    public PickleWriter Mark() => Op((byte)'(');
    public PickleWriter None() => Op((byte)'N');
    public PickleWriter False() => Op(0x89);
    public PickleWriter Tuple() => Op((byte)'t');
    public PickleWriter Tuple1() => Op(0x85);
    public PickleWriter Tuple3() => Op(0x87);
    public PickleWriter Reduce() => Op((byte)'R');
    public PickleWriter Build() => Op((byte)'b');
    public PickleWriter EmptyDict() => Op((byte)'}');
    public PickleWriter SetItems() => Op((byte)'u');
    public PickleWriter EmptyList() => Op((byte)']');
    public PickleWriter Appends() => Op((byte)'e');
    public PickleWriter Put(int slot) => Op((byte)'q', (byte)slot);
    public PickleWriter Get(int slot) => Op((byte)'h', (byte)slot);
    public PickleWriter Memoize() => Op(0x94);
    public PickleWriter StackGlobal() => Op(0x93);

    public PickleWriter Global(string module, string name) =>
        Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleWriter Int(long value)
    {
        if (value is >= 0 and < 256) return Op((byte)'K', (byte)value);
        if (value is >= 0 and < 65536) return Op((byte)'M', (byte)value, (byte)(value >> 8));
        var bytes = new byte[5];
        bytes[0] = (byte)'J';
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), (int)value);
        return Op(bytes);
    }

    /// <summary>A Python 2 str (bytes): SHORT_BINSTRING or BINSTRING.</summary>
    public PickleWriter Str(byte[] bytes)
    {
        if (bytes.Length < 256) return Op((byte)'U', (byte)bytes.Length).Op(bytes);
        var length = new byte[5];
        length[0] = (byte)'T';
        BinaryPrimitives.WriteInt32LittleEndian(length.AsSpan(1), bytes.Length);
        return Op(length).Op(bytes);
    }

    public PickleWriter Str(string text) => Str(Encoding.Latin1.GetBytes(text));

    /// <summary>A Python 3 bytes object: SHORT_BINBYTES.</summary>
    public PickleWriter Bytes(string text) => Op((byte)'C', (byte)text.Length).Op(Encoding.ASCII.GetBytes(text));

    /// <summary>A protocol 5 in-band buffer: BYTEARRAY8.</summary>
    public PickleWriter ByteArray8(byte[] bytes)
    {
        var length = new byte[9];
        length[0] = 0x96;
        BinaryPrimitives.WriteInt64LittleEndian(length.AsSpan(1), bytes.Length);
        return Op(length).Op(bytes);
    }

    /// <summary>A Python 3 str: SHORT_BINUNICODE (protocol 4) or BINUNICODE.</summary>
    public PickleWriter Unicode(string text, bool shortForm = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (shortForm) return Op(0x8c, (byte)bytes.Length).Op(bytes);
        var length = new byte[5];
        length[0] = (byte)'X';
        BinaryPrimitives.WriteInt32LittleEndian(length.AsSpan(1), bytes.Length);
        return Op(length).Op(bytes);
    }

    /// <summary>A numpy array the way numpy pickles it: _reconstruct(ndarray, (0,), 'b') then
    /// __setstate__((1, shape, dtype, False, raw)). Python 3 at protocol 2 wraps raw bytes in _codecs.encode.</summary>
    public PickleWriter NumpyArray(long[] shape, string typeCode, byte[] raw, bool python3 = false, string byteOrder = "|")
    {
        Global("numpy.core.multiarray", "_reconstruct").Put(1)
            .Global("numpy", "ndarray").Put(2).Int(0).Tuple1().Str("b").Tuple3().Reduce().Put(3);
        Mark().Int(1);
        // numpy writes 2-D shapes with TUPLE2, as the CIFAR batches have them.
        if (shape.Length == 2) Int(shape[0]).Int(shape[1]).Op(0x86);
        else
        {
            Mark();
            foreach (var size in shape) Int(size);
            Tuple();
        }
        Global("numpy", "dtype").Put(4).Str(typeCode).Int(0).Int(1).Tuple3().Reduce().Put(5);
        Mark().Int(3).Str(byteOrder).None().None().None().Int(-1).Int(-1).Int(0).Tuple().Build();
        False();
        if (python3) Global("_codecs", "encode").Unicode(Encoding.Latin1.GetString(raw)).Unicode("latin1").Op(0x86).Reduce();
        else Str(raw);
        return Tuple().Build();
    }

    public PickleWriter IntList(IEnumerable<long> values)
    {
        EmptyList().Mark();
        foreach (var value in values) Int(value);
        return Appends();
    }

    public PickleWriter StrList(IEnumerable<string> values)
    {
        EmptyList().Mark();
        foreach (var value in values) Str(value);
        return Appends();
    }

    public byte[] ToArray(bool stop = true)
    {
        if (stop) stream.WriteByte((byte)'.');
        return stream.ToArray();
    }

    /// <summary>A CIFAR batch dict {'batch_label', labelsKey: [..], 'data': uint8 [rows, columns], 'filenames'}.</summary>
    public static byte[] CifarBatch(byte[] data, long rows, long columns, IEnumerable<long> labels, string labelsKey = "labels",
        bool python3 = false, IEnumerable<long>? coarseLabels = null)
    {
        var writer = new PickleWriter().Proto(2).EmptyDict().Put(0).Mark();
        writer.Key("batch_label", python3).Str("training batch 1 of 5");
        writer.Key(labelsKey, python3).IntList(labels);
        if (coarseLabels is not null) writer.Key("coarse_labels", python3).IntList(coarseLabels);
        writer.Key("data", python3).NumpyArray(new[] { rows, columns }, "u1", data, python3);
        writer.Key("filenames", python3).StrList(new[] { "a.png", "b.png" });
        return writer.SetItems().ToArray();
    }

    /// <summary>A meta dict {namesKey: [names], 'num_vis': 3072}.</summary>
    public static byte[] CifarMeta(string namesKey, IEnumerable<string> names, bool python3 = false,
        IEnumerable<string>? coarseNames = null)
    {
        var writer = new PickleWriter().Proto(2).EmptyDict().Put(0).Mark();
        writer.Key(namesKey, python3).StrList(names);
        if (coarseNames is not null) writer.Key("coarse_label_names", python3).StrList(coarseNames);
        writer.Key("num_vis", python3).Int(3072);
        return writer.SetItems().ToArray();
    }

    private PickleWriter Key(string key, bool python3) => python3 ? Bytes(key) : Str(key);
}
