using System.Runtime.InteropServices;
using TorchSharp;

namespace Mim4dd.Runtime;

/// <summary>Process-wide TorchSharp start-up: allocator tuning and thread count, done once.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool started;

    /// <summary>Whether LibTorch's deterministic algorithms were switched on at start-up.</summary>
    public static bool Deterministic { get; private set; }

    [DllImport("libc.so.6")]
    private static extern int mallopt(int param, int value);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlagAndWarnOnly(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled,
        [MarshalAs(UnmanagedType.U1)] bool warnOnly);

    /// <summary>
    /// $MIM4DD_THREADS, when set: two LibTorch processes whose OpenMP threads outnumber the cores slow each
    /// other down many times over (spinning barriers), so parallel jobs should split the cores between them.
    /// </summary>
    private static int? ThreadsFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("MIM4DD_THREADS"), out var n) && n > 0 ? n : null;

    /// <summary>Tunes malloc and sets the intra-op thread count. Idempotent; call before the first tensor op.</summary>
    /// <param name="deterministic">
    /// One thread and LibTorch's deterministic algorithms: the same bytes whatever the machine's core count (on the
    /// same CPU family; AVX2 and AVX-512 kernels round differently). Parallel reductions split work by thread count,
    /// so two threads and one give different low bits.
    /// </param>
    public static void Start(int? threads = null, bool deterministic = false)
    {
        lock (Gate)
        {
            if (started) return;
            // LibTorch's big buffers are above glibc's mmap threshold: without this every step mmaps,
            // zero-fills and munmaps them again (measured 10-50 % of step time).
            if (OperatingSystem.IsLinux())
            {
                mallopt(-4, 0);             // M_MMAP_MAX = 0
                mallopt(-1, int.MaxValue);  // M_TRIM_THRESHOLD: never give the heap top back
            }
            torch.set_num_threads(deterministic ? 1 : threads ?? ThreadsFromEnvironment() ?? Environment.ProcessorCount);
            DisableNnpack();
            if (deterministic) Deterministic = SetDeterministic();
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
        if (ContextSetter<SetFlag>("_ZN2at7Context20setUserEnabledNNPACKEb") is var (context, set)) set(context, false);
    }

    /// <summary>
    /// torch.use_deterministic_algorithms(True) and oneDNN's deterministic mode, through LibTorch's exports:
    /// TorchSharp 0.107 declares the call but leaves it unimplemented.
    /// </summary>
    private static bool SetDeterministic()
    {
        if (ContextSetter<SetFlagAndWarnOnly>("_ZN2at7Context26setDeterministicAlgorithmsEbb") is not var (context, set))
            throw new RunFailedException("--deterministic: this LibTorch does not export at::Context::setDeterministicAlgorithms; "
                + "run without --deterministic");
        set(context, true, false);
        if (ContextSetter<SetFlag>("_ZN2at7Context22setDeterministicMkldnnEb") is var (same, setMkldnn)) setMkldnn(same, true);
        return true;
    }

    /// <summary>at::globalContext() and one of its setters, or null where libtorch_cpu.so lacks the exports.</summary>
    private static (IntPtr Context, T Setter)? ContextSetter<T>(string setterExport) where T : Delegate
    {
        if (!OperatingSystem.IsLinux()
            || !NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var library)) return null;
        if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var contextExport)
            || !NativeLibrary.TryGetExport(library, setterExport, out var setExport)) return null;
        return (Marshal.GetDelegateForFunctionPointer<GlobalContext>(contextExport)(), Marshal.GetDelegateForFunctionPointer<T>(setExport));
    }
}
