using System.Diagnostics;

namespace Mim4dd.Tests.Cli;

/// <summary>Runs the real CLI in a child process and checks exit codes and the one-line errors.</summary>
public class CliTests
{
    /// <summary>
    /// Flag/value pairs from <paramref name="defaults"/> that <paramref name="extra"/> does not set, then
    /// <paramref name="extra"/>: a single-value option given twice is a parse error, which would let a test of that
    /// option's own validation pass for the wrong reason.
    /// </summary>
    /// <summary>`distill METHOD` with those of the (flag, value) <paramref name="pairs"/> the method reads, as the
    /// registry says, then <paramref name="extra"/> as given.</summary>
    public static string[] Distill(string method, string[] pairs, params string[] extra)
    {
        var info = Mim4dd.Distill.DistillMethods.Get(method);
        return ["distill", info.Name, .. pairs.Chunk(2).Where(pair => info.Reads(pair[0][2..])).SelectMany(pair => pair), .. extra];
    }

    public static string[] WithDefaults(string[] defaults, string[] extra)
    {
        var merged = new List<string>();
        for (int i = 0; i < defaults.Length; i += 2)
            if (!extra.Contains(defaults[i])) merged.AddRange(defaults.Skip(i).Take(2));
        return [.. merged, .. extra];
    }

    /// <summary>`mim4dd <paramref name="args"/>` as its own process, stdout and stderr redirected.</summary>
    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Mim4dd.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    public static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    [Fact]
    public void Help_ListsEveryVerb()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var verb in new[] { "quickstart", "data", "train", "coreset", "experts", "distill", "presets", "eval", "bench" })
            Assert.Contains(verb, stdout);
    }

    [Fact]
    public void DistillHelp_ListsTheRegistrysMethods_AndEachMethodsHelpOnlyItsFlags()
    {
        var (code, stdout, _) = Run("distill", "--help");
        Assert.Equal(0, code);
        foreach (var method in Mim4dd.Distill.DistillMethods.All) Assert.Contains($"{method.Name} ", stdout);
        (code, stdout, _) = Run("distill", "dm", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--batch-real", stdout);
        Assert.DoesNotContain("--syn-steps", stdout);
        Assert.DoesNotContain("--preset", stdout);
    }

    [Theory]
    [InlineData("unrecognized", "coreset", "--no-such-option")]
    [InlineData("unknown dataset", "coreset", "--dataset", "imagenet9000")]
    [InlineData("--ipc", "coreset", "--ipc", "0")]
    [InlineData("unknown name", "coreset", "--arch", "NoNet")]
    [InlineData("unknown name", "distill", "--method", "dm", "--arch", "NoNet")]
    [InlineData("--syn-steps: `distill dm` does not read it (read by mim4dd, mtt, datm, bptt)", "distill", "dm", "--syn-steps", "5")]
    [InlineData("--syn-steps: `distill dm` does not read it", "distill", "--method", "dm", "--syn-steps", "5")]
    [InlineData("--lambda: `distill mtt` does not read it", "distill", "mtt", "--lambda", "0.1")]
    [InlineData("--tau: is a MIM flag, read only with --mim", "distill", "dc", "--tau", "0.2")]
    [InlineData("distill kip: unknown method; use one of mim4dd, mtt", "distill", "kip")]
    [InlineData("distill: needs a method first", "distill", "--ipc", "1")]
    [InlineData("unknown coreset method", "coreset", "--method", "kcenter")]
    [InlineData("--threads", "coreset", "--threads", "0")]
    [InlineData("not found", "eval", "/nonexistent/run")]
    [InlineData("cannot be fetched", "data", "get", "cifar100")]
    [InlineData("--epochs", "train", "--epochs", "0")]
    [InlineData("unknown augmentation", "coreset", "--augment", "mixup")]
    [InlineData("cannot parse", "coreset", "--ipc", "ten")]
    public void BadInput_ExitsTwoWithOneLineError(string expected, params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MoreImagesPerClassThanExist_ExitsTwo()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteMnistSlice(dir.Path, 200, 100);
        var (code, _, stderr) = Run("coreset", "--dataset", "mnist", "--data-dir", dir.Path, "--ipc", "50", "--out", dir.File("run"));
        Assert.Equal(2, code);
        Assert.Contains("has only", stderr);
        Assert.False(Directory.Exists(dir.File("run")), "the failed run left its folder behind");
    }

    [Fact]
    public void FailedDistill_RemovesTheRunFolderItMade_ButNotOneThatExisted()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteMnistSlice(dir.Path, 100, 20);
        string[] args = ["distill", "mtt", "--dataset", "mnist", "--data-dir", dir.Path, "--experts", dir.File("no-store")];
        var (code, _, stderr) = Run([.. args, "--out", dir.File("new")]);
        Assert.Equal(2, code);
        Assert.Contains("no-store", stderr);
        Assert.False(Directory.Exists(dir.File("new")), "the failed run left its folder behind");

        Directory.CreateDirectory(dir.File("old"));
        (code, _, _) = Run([.. args, "--out", dir.File("old")]);
        Assert.Equal(2, code);
        Assert.True(Directory.Exists(dir.File("old")), "a folder the user made was deleted");
    }

    [Fact]
    public void LogFormatJson_PrintsOneObjectPerLine_AndQuietPrintsNothing()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteMnistSlice(dir.Path, 100, 20);
        string[] train =
            ["train", "--dataset", "mnist", "--data-dir", dir.Path, "--epochs", "1", "--threads", "1", "--out", dir.File("run")];
        var (code, stdout, stderr) = Run([.. train, "--log-format", "json"]);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, line =>
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
            Assert.True(DateTimeOffset.TryParse(json.RootElement.GetProperty("time").GetString(), out _));
        });
        (code, stdout, stderr) = Run([.. train, "--quiet"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stdout.Trim());
        (code, _, stderr) = Run([.. train, "--log-format", "xml"]);
        Assert.Equal(2, code);
        Assert.Contains("--log-format", stderr);
    }

    [Fact]
    public void Train_AgainInItsFolder_SaysItIsDone_AndRefusesOtherOptions()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteMnistSlice(dir.Path, 100, 20);
        string[] train = ["train", "--dataset", "mnist", "--data-dir", dir.Path, "--threads", "1", "--out", dir.File("run")];
        var (code, _, stderr) = Run([.. train, "--epochs", "1"]);
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(dir.File("run/results.json")));
        Assert.False(File.Exists(dir.File("run/checkpoint.safetensors")), "the checkpoint of a finished training stayed");
        string results = File.ReadAllText(dir.File("run/results.json"));
        (code, var stdout, stderr) = Run([.. train, "--epochs", "1"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("already trained", stdout);
        Assert.Equal(results, File.ReadAllText(dir.File("run/results.json")));
        (code, _, stderr) = Run([.. train, "--epochs", "2"]);
        Assert.Equal(2, code);
        Assert.Contains("other options", stderr);
        Assert.Contains("\"epochs\": 1,", File.ReadAllText(dir.File("run/config.json")));   // the refused command wrote nothing
        // A training under way (config, no results yet) is no row of `compare`, and no error.
        Directory.CreateDirectory(dir.File("under-way"));
        File.Copy(dir.File("run/config.json"), dir.File("under-way/config.json"));
        (code, stdout, stderr) = Run("compare", dir.File("run"), dir.File("under-way"));
        Assert.True(code == 0, stderr);
        Assert.Single(stdout.Split('\n'), line => line.Contains("| full data |"));
        Assert.DoesNotContain("under-way", stdout);
    }
}
