using Mim4dd.Cli;
using Mim4dd.Runtime;
using Spectre.Console.Testing;

namespace Mim4dd.Tests.Cli;

[Collection(ConsoleOut.Name)]
public class ProgressDisplayTests
{
    [Fact]
    public void OnATerminal_BarsShowTheTasks_LinesPassAbove_AndTheConsoleIsRestored()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences().Width(120);
        var before = Console.Out;
        int code = ProgressDisplay.Run(console, () =>
        {
            LiveProgress.Report("distillation", 1, 4);
            Console.WriteLine("[12:00:00] iter 1/4  loss 0.9");
            LiveProgress.Report("evaluation: ConvNet 1/3", 0.5, 301);
            Console.Write("partial ");
            Console.Write("line\n");
            LiveProgress.Report("distillation", 4, 4);
            Thread.Sleep(250);   // one refresh of the live display
            return 7;
        });
        Assert.Equal(7, code);
        Assert.Contains("[12:00:00] iter 1/4  loss 0.9", console.Output);
        Assert.Contains("partial line", console.Output);
        Assert.Contains("evaluation: ConvNet 1/3", console.Output);
        Assert.Same(before, Console.Out);
        Assert.Null(LiveProgress.Listener);
    }

    [Fact]
    public void AnExceptionInTheVerb_PropagatesAndRestoresTheConsole()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();
        var before = Console.Out;
        Assert.Throws<UserError>(() => ProgressDisplay.Run(console, () => throw UserError.At("x", "bad", "fix")));
        Assert.Same(before, Console.Out);
        Assert.Null(LiveProgress.Listener);
    }

    [Fact]
    public void RedirectedOutput_GetsPlainLinesWithoutEscapes()
    {
        var (code, stdout, stderr) = CliTests.Run("presets");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain('\u001b', stdout);
    }
}

/// <summary>Tests that swap <see cref="Console.Out"/> must not run beside each other.</summary>
[CollectionDefinition(ConsoleOut.Name, DisableParallelization = true)]
public sealed class ConsoleOut
{
    public const string Name = "Console.Out";
}
