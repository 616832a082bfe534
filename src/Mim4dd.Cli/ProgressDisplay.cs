using System.Text;
using Mim4dd.Runtime;
using Spectre.Console;

namespace Mim4dd.Cli;

/// <summary>
/// Live progress bars with rate and remaining time (Spectre.Console) for a verb run on an interactive terminal. Log
/// lines and everything else written to <see cref="Console.Out"/> go through the same console, above the bars, so the
/// display never tears; when output is redirected, or with --quiet or --log-format json, verbs print plain lines only.
/// </summary>
internal static class ProgressDisplay
{
    public static bool TerminalWantsIt() =>
        !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb";

    /// <summary>The console on the real stdout, created before <see cref="Run"/> redirects <see cref="Console.Out"/>.</summary>
    public static IAnsiConsole Terminal() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    public static int Run(IAnsiConsole console, Func<int> body)
    {
        var previousOut = Console.Out;
        var bars = new Dictionary<string, ProgressTask>();
        using var lines = new LineWriter(console);
        return console.Progress().AutoClear(true).HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                LiveProgress.Listener = (task, done, total) =>
                {
                    lock (bars)
                    {
                        if (!bars.TryGetValue(task, out var bar) || bar.IsFinished)
                            bars[task] = bar = context.AddTask(Markup.Escape(task), maxValue: total);
                        bar.MaxValue = total;
                        bar.Value = Math.Min(done, total);
                        if (done >= total) bar.StopTask();
                    }
                };
                Console.SetOut(lines);
                try { return body(); }
                finally
                {
                    lines.Flush();
                    Console.SetOut(previousOut);
                    LiveProgress.Listener = null;
                }
            });
    }

    /// <summary>Hands whole lines to the console, which prints them above the live bars.</summary>
    private sealed class LineWriter(IAnsiConsole console) : TextWriter
    {
        private readonly StringBuilder pending = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (pending)
            {
                if (value == '\n') Emit();
                else if (value != '\r') pending.Append(value);
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "") Write(c);
        }

        public override void Flush()
        {
            lock (pending) if (pending.Length > 0) Emit();
        }

        private void Emit()
        {
            console.WriteLine(pending.ToString());
            pending.Clear();
        }
    }
}
