using System.Text.Json;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Runtime;
using StbImageWriteSharp;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// A synthetic set in the layouts other tools load. "mtt" (also "datm"): images_best.pt, labels_best.pt and
/// lr_best.pt, each one tensor as torch.save writes it, which is how the MTT and DATM evaluation scripts read a set
/// (for "datm", labels_best.pt holds the learned soft labels, logits [N, classes], when the set has them);
/// the images stay in the space they were distilled in (mean/std-normalised, or ZCA-whitened: then zca.pt holds the
/// whitening, mean [D] and matrix [D, D], so that whiten(x) = (x − mean)·matrix). "npz": set.npz (x, y, lr; y_soft).
/// "png-folder": one folder per class of PNGs in pixel space, for any image-folder loader. Every format writes
/// set.json saying which space the images are in and what the labels are.
/// </summary>
public static class SetExport
{
    public static readonly IReadOnlyList<string> Formats = ["mtt", "datm", "npz", "png-folder"];

    /// <summary>Writes <paramref name="set"/> to <paramref name="directory"/> in <paramref name="format"/>; returns the files
    /// written.</summary>
    /// <param name="normalization">The dataset's mean/std, for pixel space (png-folder) when the images are not ZCA-whitened.</param>
    public static List<string> Write(SyntheticSet set, string format, string directory, Normalization? normalization)
    {
        CheckFormat(format);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        string Out(string name)
        {
            var path = Path.Combine(directory, name);
            written.Add(path);
            return path;
        }
        switch (format)
        {
            case "mtt" or "datm":
                TorchFile.Save(Out("images_best.pt"), set.Images);
                // DATM's evaluation trains on labels_best.pt as logits (soft labels); MTT's on class indices.
                TorchFile.Save(Out("labels_best.pt"), format == "datm" ? set.TrainingLabels : set.Labels);
                using (var lr = tensor((float)set.LearningRate)) TorchFile.Save(Out("lr_best.pt"), lr);
                if (set.ZcaDirectory is not null)
                {
                    using var zca = Zca.Load(Path.Combine(set.ZcaDirectory, Zca.FileName));
                    var (mean, matrix) = zca.Parameters();
                    using (mean)
                    using (matrix)
                        PtExport.Save(Out("zca.pt"), new Dictionary<string, Tensor> { ["mean"] = mean, ["matrix"] = matrix });
                }
                break;
            case "npz":
                set.SaveNpz(Out("set.npz"));
                break;
            case "png-folder":
                WritePngs(set, directory, normalization, written);
                break;
        }
        AtomicFile.WriteAllText(Out("set.json"), JsonSerializer.Serialize(new
        {
            dataset = set.Dataset,
            images = set.Images.shape,
            space = format == "png-folder" ? "pixels in [0, 1], 8-bit PNG"
                : set.ZcaDirectory is null ? $"normalised: (pixel − mean) / std, mean {Join(normalization?.Mean)}, "
                    + $"std {Join(normalization?.Std)}"
                : "ZCA-whitened pixels in [0, 1] (zca.pt: whiten(x) = (x − mean)·matrix, x flattened per image)",
            learning_rate = set.LearningRate,
            labels = Labels(set, format),
        }, new JsonSerializerOptions { WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return written;
    }

    /// <summary>Refuses a format <see cref="Write"/> does not know, before any set is loaded.</summary>
    public static void CheckFormat(string format)
    {
        if (!Formats.Contains(format))
            throw UserError.At($"--format {format}", "unknown format", $"use one of: {string.Join(", ", Formats)}");
    }

    /// <summary>What the layout's labels are: a set with learned soft labels keeps them only in datm and npz.</summary>
    private static string Labels(SyntheticSet set, string format) => (set.SoftLabels is null, format) switch
    {
        (true, "png-folder") => "hard (the class folders)",
        (true, _) => "hard (class indices)",
        (false, "datm") => $"soft: labels_best.pt holds the learned logits [{set.Images.shape[0]}, {set.SoftLabels!.shape[1]}]",
        (false, "npz") => $"y: class indices; y_soft: the learned soft labels, logits [{set.Images.shape[0]}, {set.SoftLabels!.shape[1]}]",
        (false, "mtt") => "hard (class indices); the set's learned soft labels are not in this layout (--format datm or npz has them)",
        _ => "hard (the class folders); the set's learned soft labels are not in this layout (--format datm or npz has them)",
    };

    private static string Join(float[]? values) => values is null ? "unknown" : $"[{string.Join(", ", values)}]";

    /// <summary>&lt;directory&gt;/&lt;class index&gt;/&lt;image index&gt;.png, undoing the normalisation or the whitening.</summary>
    private static void WritePngs(SyntheticSet set, string directory, Normalization? normalization, List<string> written)
    {
        using var scope = NewDisposeScope();
        var pixels = set.Pixels(normalization).Times(255).round().Between(0, 255).to_type(ScalarType.Byte)
            .permute(0, 2, 3, 1).contiguous();
        long channels = pixels.shape[3];
        var labels = set.Labels.data<long>().ToArray();
        for (int i = 0; i < labels.Length; i++)
        {
            var folder = Path.Combine(directory, labels[i].ToString("D3"));
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, $"{i:D5}.png");
            var bytes = pixels[i].data<byte>().ToArray();
            AtomicFile.Write(path, stream => new ImageWriter().WritePng(bytes, (int)pixels.shape[2], (int)pixels.shape[1],
                channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue, stream));
            written.Add(path);
        }
    }
}
