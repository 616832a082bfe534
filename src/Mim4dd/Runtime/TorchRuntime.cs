using System.Runtime.InteropServices;
using TorchSharp;

namespace Mim4dd.Runtime;

/// <summary>Process-wide TorchSharp start-up: allocator tuning and thread count, done once.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool started;

    [DllImport("libc.so.6")]
    private static extern int mallopt(int param, int value);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>
    /// $MIM4DD_THREADS, when set: two LibTorch processes whose OpenMP threads outnumber the cores slow each
    /// other down many times over (spinning barriers), so parallel jobs should split the cores between them.
    /// </summary>
    private static int? ThreadsFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("MIM4DD_THREADS"), out var n) && n > 0 ? n : null;

    /// <summary>Tunes malloc and sets the intra-op thread count. Idempotent; call before the first tensor op.</summary>
    public static void Start(int? threads = null)
    {
        lock (Gate)
        {
            if (started) return;
            // LibTorch's big buffers are above glibc's mmap threshold: without this every step mmaps,
            // zero-fills and munmaps them again (measured 10-50 % of step time; shared/notes/torchsharp.md).
            if (OperatingSystem.IsLinux())
            {
                mallopt(-4, 0);             // M_MMAP_MAX = 0
                mallopt(-1, int.MaxValue);  // M_TRIM_THRESHOLD: never give the heap top back
            }
            torch.set_num_threads(threads ?? ThreadsFromEnvironment() ?? Environment.ProcessorCount);
            DisableNnpack();
            started = true;
        }
    }

    /// <summary>
    /// LibTorch tries NNPACK for some small convolutions (DC at IPC 1 has one image per class) and, on every CPU
    /// NNPACK does not know, prints "Could not initialize NNPACK" each time before falling back, so a run's log
    /// drowns in warnings while nothing runs on NNPACK. TorchSharp does not expose torch.backends.nnpack, so the
    /// flag is switched off through LibTorch's own exports (at::globalContext().setUserEnabledNNPACK(false));
    /// if they are missing the warnings stay and nothing else changes.
    /// </summary>
    private static void DisableNnpack()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var library)) return;
        if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var contextExport)
            || !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledNNPACKEb", out var setExport)) return;
        var context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(contextExport)();
        Marshal.GetDelegateForFunctionPointer<SetFlag>(setExport)(context, false);
    }
}
