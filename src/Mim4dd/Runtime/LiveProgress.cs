namespace Mim4dd.Runtime;

/// <summary>
/// Progress of long loops (training batches, distillation iterations, evaluation nets) for a live display. The library
/// only reports; a front end that draws bars sets <see cref="Listener"/>. Without one, reporting costs a null check,
/// and the timestamped log lines remain the record.
/// </summary>
public static class LiveProgress
{
    /// <summary>(task, done, total): <paramref name="done"/> may be fractional; a task is finished when done ≥ total.</summary>
    public delegate void Handler(string task, double done, double total);

    public static Handler? Listener { get; set; }

    public static void Report(string task, double done, double total) => Listener?.Invoke(task, done, total);
}
