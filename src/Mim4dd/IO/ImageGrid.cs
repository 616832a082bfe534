using Mim4dd.Data;
using Mim4dd.Runtime;
using StbImageWriteSharp;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>A PNG of a synthetic set: one row per class, up to <see cref="MaxColumns"/> images each; beyond
/// <see cref="RowsBeforeWrapping"/> classes the class rows wrap into blocks laid out in reading order (class 0 top left), so
/// that 100 classes make a near-square picture instead of a strip 100 rows high.</summary>
public static class ImageGrid
{
    public const int MaxColumns = 10;
    public const int RowsBeforeWrapping = 20;
    private const int Gap = 2;
    private const int BlockGap = 8;   // between wrapped class blocks, so that classes stay apart

    /// <param name="normalization">Undoes the dataset's mean/std; null (e.g. ZCA-whitened images, which have no
    /// per-pixel inverse worth showing) scales each image to its own min…max instead.</param>
    public static void Save(string path, Tensor images, Tensor labels, int numClasses, Normalization? normalization)
    {
        using var scope = NewDisposeScope();
        var pixels = ToUnitRange(images.detach().to_type(ScalarType.Float32), normalization).Times(255).round().Between(0, 255)
            .to_type(ScalarType.Byte);
        long channels = pixels.shape[1], height = pixels.shape[2], width = pixels.shape[3];
        int scale = height <= 32 && width <= 32 ? 2 : 1;   // small images are unreadable at 1:1
        var byClass = Enumerable.Range(0, numClasses)
            .Select(c => labels.EqualTo(c).nonzero().view(-1).data<long>().Take(MaxColumns).ToArray()).ToArray();
        int columns = Math.Max(1, byClass.Max(ix => ix.Length));
        int cell = (int)height * scale, cellW = (int)width * scale;
        int blockW = columns * (cellW + Gap);
        // Blocks per row for a near-square picture: B blocks across, ⌈K/B⌉ down, each block one class row.
        int across = numClasses <= RowsBeforeWrapping ? 1
            : Math.Clamp((int)Math.Round(Math.Sqrt(numClasses * (double)(cell + Gap) / blockW)), 1, numClasses);
        int down = (numClasses + across - 1) / across;
        int gridW = across * blockW + (across - 1) * BlockGap + Gap, gridH = down * (cell + Gap) + Gap;
        var rgb = new byte[gridW * gridH * 3];
        Array.Fill(rgb, (byte)255);
        var hwc = pixels.permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
        long imageBytes = height * width * channels;
        for (int c = 0; c < numClasses; c++)
            for (int k = 0; k < byClass[c].Length; k++)
            {
                long offset = byClass[c][k] * imageBytes;
                int top = Gap + c / across * (cell + Gap), left = Gap + c % across * (blockW + BlockGap) + k * (cellW + Gap);
                for (int y = 0; y < cell; y++)
                    for (int x = 0; x < cellW; x++)
                    {
                        long source = offset + ((y / scale) * width + x / scale) * channels;
                        int target = ((top + y) * gridW + left + x) * 3;
                        for (int ch = 0; ch < 3; ch++) rgb[target + ch] = hwc[source + (channels == 1 ? 0 : ch)];
                    }
            }
        AtomicFile.Write(path, stream => new ImageWriter().WritePng(rgb, gridW, gridH, ColorComponents.RedGreenBlue, stream));
    }

    private static Tensor ToUnitRange(Tensor images, Normalization? normalization)
    {
        if (normalization is not null)
        {
            return normalization.Undo(images).Between(0, 1);
        }
        var flat = images.flatten(1);
        var low = flat.amin(new long[] { 1 }, keepdim: true);
        var high = flat.amax(new long[] { 1 }, keepdim: true);
        return flat.sub(low).div(high.sub(low).AtLeast(1e-12)).view_as(images);
    }
}
