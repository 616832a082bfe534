using System.Diagnostics;
using System.Text.Json;
using Mim4dd.Experts;
using Mim4dd.IO;
using Mim4dd.Nets;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Interop;

/// <summary>A one-node Slurm cluster on this machine (tests/slurm/cluster.sh), for the job-array integration test.</summary>
public static class LocalSlurm
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        foreach (var tool in new[] { "sbatch", "squeue", "slurmctld", "slurmd", "munged" })
            if (!new[] { "/usr/bin", "/usr/sbin", "/bin", "/sbin" }.Any(d => File.Exists(Path.Combine(d, tool))))
                return $"{tool} not found: Slurm is not installed (test.sh installs slurm-wlm and munge as root)";
        return Environment.UserName == "root" ? null : "starting slurmctld and slurmd needs root";
    });

    public static string? WhyMissing => Missing.Value;

    /// <summary>Runs a command with SLURM_CONF set; returns exit code and output.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string? conf, string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (conf is not null) info.Environment["SLURM_CONF"] = conf;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>`mim4dd args` as the tests run the CLI, with SLURM_CONF set.</summary>
    public static (int Code, string Stdout, string Stderr) Mim4dd(string conf, params string[] args) =>
        Run(conf, "dotnet", [Path.Combine(AppContext.BaseDirectory, "Mim4dd.Cli.dll"), .. args]);

    /// <summary>Waits until the job has left the queue (done, failed or cancelled).</summary>
    public static void Wait(string conf, string job, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // Every job in the queue: `squeue -j ID` can miss an array's tasks once the task holding the array's own id has ended.
            var (code, stdout, stderr) = Run(conf, "squeue", "-h", "-o", "%i");
            Assert.True(code == 0, $"squeue failed: {stderr}");
            if (!stdout.Split('\n').Any(line => line.Trim() == job || line.Trim().StartsWith(job + "_", StringComparison.Ordinal))) return;
            Assert.True(clock.Elapsed < limit, $"job {job} still queued or running after {limit}");
            Thread.Sleep(500);
        }
    }
}

/// <summary>A test that needs a local Slurm: skipped, with the reason, where it cannot run.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (LocalSlurm.WhyMissing is { } why) Skip = why;
    }
}

/// <summary>`mim4dd slurm` on a real one-node Slurm: the arrays' results equal one process's.</summary>
public class SlurmTests
{
    [SlurmFact]
    public void ExpertAndEvalArrays_GiveWhatOneProcessGives()
    {
        using var dir = new TestData.TempDir();
        var script = Path.Combine(AppContext.BaseDirectory, "cluster.sh");
        var (started, stdout, stderr) = LocalSlurm.Run(null, "bash", script, "start", dir.File("cluster"));
        Assert.True(started == 0, $"the local cluster did not start: {stderr}");
        var conf = stdout.Trim();
        try
        {
            TestData.WriteMnistSlice(dir.File("data"), 200, 50);
            string[] experts = ["--dataset", "mnist", "--data-dir", dir.File("data"), "--num-experts", "3",
                "--train-epochs", "1", "--seed", "3"];
            var job = Submit(conf, ["slurm", "experts", "--tasks", "2", "--logs", dir.File("logs"),
                "--", .. experts, "--out", dir.File("array")]);
            var single = LocalSlurm.Mim4dd(conf, ["experts", .. experts, "--out", dir.File("single"), "--threads", "1"]);
            Assert.True(single.Code == 0, single.Stderr);
            LocalSlurm.Wait(conf, job, TimeSpan.FromMinutes(5));
            Assert.True(Directory.Exists(dir.File("array")), "no store; the tasks said:\n" + TaskOutput(dir.File("logs")));
            var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
            var fromArray = ExpertStore.LoadAll(dir.File("array"), net, "mnist");
            var fromOne = ExpertStore.LoadAll(dir.File("single"), net, "mnist");
            Assert.True(fromArray.Count == 3, $"{fromArray.Count} experts; the tasks said:\n" + TaskOutput(dir.File("logs")));
            for (int i = 0; i < 3; i++) Assert.True(fromArray[i].Snapshots.equal(fromOne[i].Snapshots).all().item<bool>(),
                $"expert {i} differs");
            foreach (var e in fromArray.Concat(fromOne)) e.Dispose();

            WriteSet(dir.File("run-array"));
            WriteSet(dir.File("run-single"));
            string[] protocol = ["--repeats", "3", "--epochs", "2", "--data-dir", dir.File("data")];
            job = Submit(conf, ["slurm", "eval", "--tasks", "2", "--logs", dir.File("logs"), "--", dir.File("run-array"), .. protocol]);
            LocalSlurm.Wait(conf, job, TimeSpan.FromMinutes(5));
            var merge = LocalSlurm.Mim4dd(conf, ["eval", dir.File("run-array"), .. protocol]);
            Assert.True(merge.Code == 0, merge.Stderr);
            Assert.True((merge.Stderr + merge.Stdout).Contains("training 0 of 3 networks"),
                merge.Stderr + "\nthe tasks said:\n" + TaskOutput(dir.File("logs")));
            var one = LocalSlurm.Mim4dd(conf, ["eval", dir.File("run-single"), .. protocol, "--threads", "1"]);
            Assert.True(one.Code == 0, one.Stderr);
            Assert.Equal(Accuracies(dir.File("run-single")), Accuracies(dir.File("run-array")));
        }
        finally
        {
            LocalSlurm.Run(null, "bash", script, "stop", dir.File("cluster"));
        }
    }

    private static string TaskOutput(string logs) =>
        string.Join("\n", Directory.GetFiles(logs, "*.out").Order().Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f)}"));

    private static string Submit(string conf, string[] args)
    {
        var (code, stdout, stderr) = LocalSlurm.Mim4dd(conf, args);
        Assert.True(code == 0, stderr);
        return stdout.Trim().Split('\n').Last().Trim();
    }

    private static void WriteSet(string run)
    {
        Directory.CreateDirectory(run);
        using var slice = TestData.Slice(TestData.Mnist.Train, 20);
        using var set = new SyntheticSet(slice.Floats(TestData.Mnist.Normalization), slice.Labels.clone(), "mnist", 0.01);
        set.Save(new RunDirectory(run).Synthetic, TestData.Mnist.Normalization);
    }

    private static double[] Accuracies(string run)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "eval-e2-lr0.01-dsa-s0.json")));
        return doc.RootElement.GetProperty("results")[0].GetProperty("Accuracies").EnumerateArray().Select(a => a.GetDouble()).ToArray();
    }
}
