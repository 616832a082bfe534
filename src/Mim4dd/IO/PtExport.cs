using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>A dict of tensors that Python reads with <c>torch.load(path)</c> (PyTorch's zip + pickle format,
/// via TorchSharp.PyBridge).</summary>
public static class PtExport
{
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var contiguous = tensors.ToDictionary(p => p.Key, p => p.Value.detach().clone());
        try { AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, contiguous, leaveOpen: true)); }
        finally { foreach (var t in contiguous.Values) t.Dispose(); }
    }

    public static Dictionary<string, Tensor> Load(string path)
    {
        using var stream = File.OpenRead(path);
        var loaded = PyTorchUnpickler.UnpickleStateDict(stream);
        return loaded.Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
    }
}
