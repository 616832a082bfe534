using System.Collections;
using Mim4dd.Data;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// A synthetic set written by another tool, or by `mim4dd export`, read back: a folder in the MTT/DATM layout
/// (images_best.pt, labels_best.pt, lr_best.pt optional), a torch.save'd dict (images or x or image_syn; labels or y or
/// label_syn; lr and soft_labels optional: ours is syn.pt) or a numpy .npz (x or images; y or labels; lr and y_soft
/// optional). Images are float [N, C, H, W]; labels are class indices [N], or logits [N, classes] (DATM's learned labels:
/// the class is their argmax, the logits stay as the set's soft labels). Such files name neither the dataset nor the
/// space of the images: the caller gives both (`mi`: those of the expert store the set is read with).
/// </summary>
public static class SetImport
{
    private static readonly string[] ImageKeys = ["images", "x", "image_syn"], LabelKeys = ["labels", "y", "label_syn"],
        SoftKeys = ["soft_labels", "y_soft"], LrKeys = ["lr"];

    /// <summary>Whether <paramref name="path"/> is in one of the layouts <see cref="Load"/> reads.</summary>
    public static bool Handles(string path) =>
        File.Exists(Path.Combine(path, "images_best.pt"))
        || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);

    /// <param name="labelsFromLogits">Whether the classes came from the argmax of logits (DATM's layout), which may differ
    /// from the classes the images were distilled for.</param>
    public static SyntheticSet Load(string path, string dataset, string? zcaDirectory, out bool labelsFromLogits)
    {
        var tensors = Read(path);
        try
        {
            var images = Take(tensors, ImageKeys, path, "images") ?? throw Missing(path, "images", ImageKeys);
            var labels = Take(tensors, LabelKeys, path, "labels") ?? throw Missing(path, "labels", LabelKeys);
            var soft = Take(tensors, SoftKeys, path, "soft labels");
            var lr = Take(tensors, LrKeys, path, "lr");
            labelsFromLogits = labels.is_floating_point();
            return Build(path, images, labels, soft, lr, dataset, zcaDirectory);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static SyntheticSet Build(string path, Tensor images, Tensor labels, Tensor? soft, Tensor? lr, string dataset,
        string? zcaDirectory)
    {
        using var scope = NewDisposeScope();
        if (images.dim() != 4 || !images.is_floating_point())
            throw UserError.At(path, $"images must be float [N, C, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]",
                "store the images as a float array N × C × H × W");
        long n = images.shape[0];
        if (labels.is_floating_point() && labels.dim() == 2 && labels.shape[0] == n)
        {
            soft ??= labels;   // DATM's labels_best.pt: learned logits, the only labels it keeps
            labels = labels.argmax(1);
        }
        if (labels.dim() != 1 || labels.shape[0] != n || labels.is_floating_point())
            throw UserError.At(path, $"labels must be {n} class indices (or logits [{n}, classes]), got {labels.dtype} "
                + $"[{string.Join(", ", labels.shape)}]", "store one integer label per image");
        if (soft is not null && (soft.dim() != 2 || soft.shape[0] != n))
            throw UserError.At(path, $"soft labels must be logits [{n}, classes], got [{string.Join(", ", soft.shape)}]",
                "store one row of logits per image");
        if (!images.isfinite().all().item<bool>()) throw UserError.At(path, "images contain NaN or Inf", "store finite images");
        double learningRate = lr is null || lr.numel() != 1
            ? Train.EvalProtocol.DefaultLearningRate : lr.to_type(ScalarType.Float64).item<double>();
        return new SyntheticSet(images.to_type(ScalarType.Float32).contiguous().MoveToOuterDisposeScope(),
            labels.to_type(ScalarType.Int64).contiguous().MoveToOuterDisposeScope(), dataset, learningRate, zcaDirectory,
            soft?.to_type(ScalarType.Float32).contiguous().MoveToOuterDisposeScope());
    }

    /// <summary>The set's tensors by name (the MTT layout's files as images, labels, lr); numbers become 0-d tensors.</summary>
    private static Dictionary<string, Tensor> Read(string path)
    {
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            if (File.Exists(Path.Combine(path, "images_best.pt")))
            {
                foreach (var (file, key) in new[] { ("images_best.pt", "images"), ("labels_best.pt", "labels"), ("lr_best.pt", "lr") })
                {
                    var full = Path.Combine(path, file);
                    if (!File.Exists(full)) continue;
                    var loaded = TorchFile.Load(full);
                    tensors[key] = AsTensor(loaded) ?? throw UserError.At(full, "holds no single tensor or number",
                        "save it with torch.save(tensor, path)");
                }
                return tensors;
            }
            if (!File.Exists(path)) throw UserError.At(path, "no such file", "pass a .pt, a .npz or a folder with images_best.pt");
            if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
            {
                // Only the arrays a set is made of: a file may hold others (class names as strings) that need not be read.
                foreach (var (key, array) in Npz.ReadSome(path, [.. ImageKeys, .. LabelKeys, .. SoftKeys, .. LrKeys]))
                    tensors[key] = array.ToTensor($"{path}[{key}]");
                return tensors;
            }
            var graph = TorchFile.Load(path);
            if (graph is not IDictionary dict)
            {
                DisposeTensors(graph);
                throw UserError.At(path, "holds no dict of tensors", "save a dict such as {'images': x, 'labels': y} with torch.save");
            }
            foreach (DictionaryEntry entry in dict)
                if (entry.Key is string key && AsTensor(entry.Value) is { } t) tensors[key] = t;
                else DisposeTensors(entry.Value);
            return tensors;
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    private static Tensor? AsTensor(object? value) => value switch
    {
        Tensor t => t,
        double or float or int or long => tensor(Convert.ToDouble(value)),
        _ => null,
    };

    /// <summary>Frees the tensors of a part of a loaded pickle that the set does not use.</summary>
    private static void DisposeTensors(object? value)
    {
        switch (value)
        {
            case Tensor t: t.Dispose(); break;
            case IDictionary d: foreach (DictionaryEntry e in d) DisposeTensors(e.Value); break;
            case IEnumerable items and not string: foreach (var item in items) DisposeTensors(item); break;
        }
    }

    private static Tensor? Take(Dictionary<string, Tensor> tensors, string[] keys, string path, string what)
    {
        var found = keys.Where(tensors.ContainsKey).ToList();
        if (found.Count > 1) throw UserError.At(path, $"holds {what} twice ({string.Join(", ", found)})", "keep one of them");
        return found.Count == 1 ? tensors[found[0]] : null;
    }

    private static UserError Missing(string path, string what, string[] keys) =>
        UserError.At(path, $"has no {what} (looked for {string.Join(", ", keys)})", $"store the {what} under one of those names");
}
