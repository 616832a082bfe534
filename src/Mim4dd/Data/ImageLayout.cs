using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>Turns an image array stored as [N, H, W], [N, H, W, C] or [N, C, H, W] into uint8 NCHW pixels.</summary>
internal static class ImageLayout
{
    public readonly record struct Images(byte[] Pixels, long Count, long Channels, long Height, long Width);

    public static Images ToNchw(NdArray array, string where, string what)
    {
        var shape = array.Shape;
        if (shape.Length == 3)
            return new Images(array.ToPixels(where, what), shape[0], 1, shape[1], shape[2]);
        if (shape.Length != 4)
            throw UserError.At(where, $"{what} have shape [{string.Join(", ", shape)}]",
                "store images as [N, H, W], [N, H, W, C] or [N, C, H, W]");
        var pixels = array.ToPixels(where, what);
        if (IsChannelsLast(shape, where, what))
            return new Images(ChannelsLastToFirst(pixels, shape), shape[0], shape[3], shape[1], shape[2]);
        return new Images(pixels, shape[0], shape[1], shape[2], shape[3]);
    }

    private static bool IsChannel(long size) => size is 1 or 3 or 4;

    private static bool IsChannelsLast(long[] shape, string where, string what)
    {
        bool lastFits = IsChannel(shape[3]), firstFits = IsChannel(shape[1]);
        if (lastFits != firstFits) return lastFits;
        if (!lastFits)
            throw UserError.At(where, $"{what} have shape [{string.Join(", ", shape)}], with no channel axis of size 1, 3 or 4",
                "store images as [N, H, W], [N, H, W, C] or [N, C, H, W] with C = 1, 3 or 4");
        // Both ends could be channels (tiny images): square images tell which; otherwise numpy's usual
        // channels-last wins, as Keras and most numpy pipelines write it.
        if (shape[2] == shape[3] && shape[1] != shape[2]) return false;
        return true;
    }

    private static byte[] ChannelsLastToFirst(byte[] pixels, long[] shape)
    {
        long count = shape[0], height = shape[1], width = shape[2], channels = shape[3];
        long plane = height * width, image = plane * channels;
        var result = new byte[pixels.LongLength];
        for (long n = 0; n < count; n++)
        {
            long imageStart = n * image;
            for (long p = 0; p < plane; p++)
            {
                long source = imageStart + p * channels;
                for (long c = 0; c < channels; c++)
                    result[imageStart + c * plane + p] = pixels[source + c];
            }
        }
        return result;
    }
}
