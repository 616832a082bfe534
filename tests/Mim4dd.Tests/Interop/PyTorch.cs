using System.Diagnostics;

namespace Mim4dd.Tests.Interop;

/// <summary>Debian's python3 with python3-torch (test.sh installs it as root), for tests against real PyTorch files.</summary>
public static class PyTorch
{
    // Debian's interpreter, not whatever python3 comes first on PATH: python3-torch installs into its dist-packages.
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} not found (apt-get install python3-torch)";
        var (code, _, stderr) = Run("import torch");
        return code == 0 ? null : $"{Python} cannot import torch (apt-get install python3-torch): {stderr.Trim().Split('\n').Last()}";
    });

    /// <summary>Why the tests that need PyTorch are skipped, or null when it is there.</summary>
    public static string? WhyMissing => Missing.Value;

    /// <summary>Runs <paramref name="script"/> with <paramref name="args"/> as sys.argv[1:].</summary>
    public static (int Code, string Stdout, string Stderr) Run(string script, params string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>Runs <paramref name="script"/> and fails the test with its stderr when it fails.</summary>
    public static string Check(string script, params string[] args)
    {
        var (code, stdout, stderr) = Run(script, args);
        Assert.True(code == 0, $"python3 failed ({code}): {stderr}");
        return stdout;
    }
}

/// <summary>A test that needs PyTorch: skipped, with the reason, where python3-torch is not installed.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (PyTorch.WhyMissing is { } why) Skip = why;
    }
}
