using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.IO;

namespace Mim4dd.Cli.Commands;

/// <summary>`mim4dd export SET --format …`: a saved set in the layouts of <see cref="SetExport"/>.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("set") { Description = "A run directory (with syn.safetensors) or a .safetensors synthetic set" };
        var format = new Option<string>("--format")
        {
            Description = "mtt or datm (images_best.pt, labels_best.pt, lr_best.pt [+ zca.pt] for the MTT/DATM evaluation scripts), "
                + "npz (set.npz: x, y, lr) or png-folder (one folder of PNGs per class, in pixels)",
            DefaultValueFactory = _ => "mtt",
        };
        var outDir = new Option<string?>("--out") { Description = "Folder to write (default: export-<format> beside the set)" };
        var command = new Command("export",
            "Write a saved synthetic set in a layout other tools load (PyTorch .pt, numpy .npz, image folders)")
        { target, format, outDir };
        command.SetAction(parse => Cli.Guard(parse, null, () =>
        {
            var path = parse.GetValue(target)!;
            var file = Directory.Exists(path) ? new RunDirectory(path).Synthetic : path;
            Cli.Require(File.Exists(file), file, "synthetic set not found",
                "pass a run directory written by mim4dd or a .safetensors file");
            var name = parse.GetValue(format)!;
            SetExport.CheckFormat(name);
            using var set = SyntheticSet.Load(file);
            var directory = parse.GetValue(outDir) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, $"export-{name}");
            var normalization = DatasetCatalog.All
                .FirstOrDefault(d => d.Name.Equals(set.Dataset, StringComparison.OrdinalIgnoreCase))?.Normalization;
            var written = SetExport.Write(set, name, directory, normalization);
            Cli.Log($"{written.Count} files in {directory} ({set.Images.shape[0]} images, "
                + $"{(set.ZcaDirectory is null ? "normalised" : "ZCA-whitened")})");
            return 0;
        }));
        return command;
    }
}
