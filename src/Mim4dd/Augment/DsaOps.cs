using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Augment;

/// <summary>
/// The DSA operations with explicit parameters, each differentiable with respect to the images
/// [N, C, H, W]. A parameter tensor has one entry per image ([N]) or one entry shared by the whole
/// batch ([1]); parameters are cast to the images' dtype so float32 and float64 images see the same values.
/// </summary>
internal static class DsaOps
{
    internal const double BrightnessRange = 1.0;
    internal const double SaturationRange = 2.0;
    internal const double ContrastOffset = 0.5;
    internal const double CropRatio = 0.125;
    internal const double CutoutRatio = 0.5;
    internal const double FlipProbability = 0.5;
    internal const double ScaleRatio = 1.2;
    internal const double RotateDegrees = 15.0;

    /// <summary>
    /// True: grid coordinates ±1 are the centres of the corner pixels, so the identity matrix samples every
    /// pixel exactly. The MTT repository uses true; the DC/DSA repositories leave it at the framework
    /// default (false today). For square images and maps without translation (DSA's scale and rotate, about the
    /// centre) both put every sample at the same input position, s·(i − (W−1)/2) + (W−1)/2, so the choice changes nothing here.
    /// </summary>
    internal const bool AlignCorners = true;

    /// <summary>x + (u − 0.5)·1 per image.</summary>
    internal static Tensor Brightness(Tensor images, Tensor uniform) =>
        images.Plus(PerImage(uniform, images).Minus(0.5).Times(BrightnessRange));

    /// <summary>(x − m)·2u + m with m the per-pixel mean over channels (a no-op for one channel).</summary>
    internal static Tensor Saturation(Tensor images, Tensor uniform)
    {
        var mean = images.mean(new long[] { 1 }, keepdim: true);
        return ((images - mean) * PerImage(uniform, images).Times(SaturationRange)).Plus(mean);
    }

    /// <summary>(x − m)·(u + 0.5) + m with m the per-image mean over C, H, W.</summary>
    internal static Tensor Contrast(Tensor images, Tensor uniform)
    {
        var mean = images.mean(new long[] { 1, 2, 3 }, keepdim: true);
        return ((images - mean) * PerImage(uniform, images).Plus(ContrastOffset)).Plus(mean);
    }

    /// <summary>Brightness, then saturation, then contrast.</summary>
    internal static Tensor Color(Tensor images, Tensor brightness, Tensor saturation, Tensor contrast) =>
        Contrast(Saturation(Brightness(images, brightness), saturation), contrast);

    /// <summary>
    /// Translation: out[i, j] = x[i + rowShift, j + columnShift] where that pixel exists, else 0. The images
    /// get a one-pixel zero border and every out-of-range source index is clamped onto that border, so a
    /// single gather does the move and the fill.
    /// </summary>
    internal static Tensor Crop(Tensor images, Tensor rowShift, Tensor columnShift)
    {
        CheckParameters(images, rowShift, columnShift);
        long n = images.shape[0], channels = images.shape[1], height = images.shape[2], width = images.shape[3];
        var padded = F.pad(images, new long[] { 1, 1, 1, 1 });
        var rows = Scalars.Arange(height, ScalarType.Int64, images.device).view(1, height, 1)
            .Plus(rowShift.to_type(ScalarType.Int64).view(-1, 1, 1)).Plus(1).Between(0, height + 1);
        var columns = Scalars.Arange(width, ScalarType.Int64, images.device).view(1, 1, width)
            .Plus(columnShift.to_type(ScalarType.Int64).view(-1, 1, 1)).Plus(1).Between(0, width + 1);
        var index = rows.Times(width + 2).Plus(columns).view(-1, 1, height * width).expand(n, channels, height * width);
        return padded.flatten(2).gather(2, index).view(n, channels, height, width);
    }

    /// <summary>
    /// Zeroes the rows centreRow − rows/2 … centreRow − rows/2 + rows − 1 times the matching columns,
    /// clipped to the image.
    /// </summary>
    internal static Tensor Cutout(Tensor images, Tensor centreRow, Tensor centreColumn, long rows, long columns)
    {
        CheckParameters(images, centreRow, centreColumn);
        long height = images.shape[2], width = images.shape[3];
        var rowStart = centreRow.to_type(ScalarType.Int64).view(-1, 1, 1).Minus(rows / 2);
        var columnStart = centreColumn.to_type(ScalarType.Int64).view(-1, 1, 1).Minus(columns / 2);
        var rowIndex = Scalars.Arange(height, ScalarType.Int64, images.device).view(1, height, 1);
        var columnIndex = Scalars.Arange(width, ScalarType.Int64, images.device).view(1, 1, width);
        var insideRows = rowIndex.ge(rowStart).logical_and(rowIndex.lt(rowStart.Plus(rows)));
        var insideColumns = columnIndex.ge(columnStart).logical_and(columnIndex.lt(columnStart.Plus(columns)));
        var keep = insideRows.logical_and(insideColumns).logical_not().unsqueeze(1).to_type(images.dtype);
        return images * keep;
    }

    /// <summary>Mirrors the width axis of the images whose flag is set.</summary>
    internal static Tensor Flip(Tensor images, Tensor flip)
    {
        CheckParameters(images, flip);
        return where(flip.to_type(ScalarType.Bool).view(-1, 1, 1, 1), images.flip(3), images);
    }

    /// <summary>Affine matrix [[sx, 0, 0], [0, sy, 0]]: output coordinates are multiplied to find the source,
    /// so a factor above 1 shrinks the content.</summary>
    internal static Tensor Scale(Tensor images, Tensor scaleX, Tensor scaleY)
    {
        CheckParameters(images, scaleX, scaleY);
        var sx = scaleX.to_type(images.dtype);
        var sy = scaleY.to_type(images.dtype);
        var zero = zeros_like(sx);
        return Affine(images, stack(new[] { sx, zero, zero, zero, sy, zero }, 1).view(-1, 2, 3));
    }

    /// <summary>Affine matrix [[cos θ, −sin θ, 0], [sin θ, cos θ, 0]], θ in radians.</summary>
    internal static Tensor Rotate(Tensor images, Tensor radians)
    {
        CheckParameters(images, radians);
        var angle = radians.to_type(images.dtype);
        var cos = angle.cos();
        var sin = angle.sin();
        var zero = zeros_like(angle);
        return Affine(images, stack(new[] { cos, -sin, zero, sin, cos, zero }, 1).view(-1, 2, 3));
    }

    /// <summary>Bilinear resampling through the affine matrices [B, 2, 3], zero outside the image.</summary>
    internal static Tensor Affine(Tensor images, Tensor theta)
    {
        long n = images.shape[0];
        var matrices = theta.to_type(images.dtype).to(images.device).expand(n, 2, 3).contiguous();
        var grid = F.affine_grid(matrices, images.shape, align_corners: AlignCorners);
        return F.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: AlignCorners);
    }

    private static Tensor PerImage(Tensor parameter, Tensor images)
    {
        CheckParameters(images, parameter);
        return parameter.to_type(images.dtype).to(images.device).view(-1, 1, 1, 1);
    }

    // Native shape errors can abort the process instead of throwing, so shapes are checked here first.
    private static void CheckParameters(Tensor images, params Tensor[] parameters)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"DSA takes images [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        foreach (var parameter in parameters)
        {
            if (parameter.dim() != 1 || (parameter.shape[0] != 1 && parameter.shape[0] != images.shape[0]))
                throw new ArgumentException(
                    $"a DSA parameter must have shape [1] or [{images.shape[0]}], got [{string.Join(", ", parameter.shape)}]");
        }
    }
}
