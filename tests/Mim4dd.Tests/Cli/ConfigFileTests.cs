using System.CommandLine;
using FsCheck.Xunit;
using Mim4dd.Cli;
using Mim4dd.Runtime;
using Mim4dd.Tests.Distill;

namespace Mim4dd.Tests.Cli;

public class ConfigFileTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private string Config(string name, string json)
    {
        var path = store.Dir.File(name);
        File.WriteAllText(path, json);
        return path;
    }

    private string DmConfig() => Config("dm.json", $$"""
        {"method": "dm", "dataset": "mnist", "data-dir": "{{store.DataDir.Replace("\\", "\\\\")}}", "ipc": 1, "batch-real": 8,
         "iterations": 2, "eval-every": 0, "eval-repeats": 1, "eval-epochs": 2}
        """);

    [Fact]
    public void ARunFromAConfigFile_EqualsTheSameRunFromFlags_AndFlagsWin()
    {
        var fromFile = store.Dir.File("cfg-file");
        var fromFlags = store.Dir.File("cfg-flags");
        var overridden = store.Dir.File("cfg-override");
        var (code, _, stderr) = CliTests.Run("distill", "--config", DmConfig(), "--out", fromFile);
        Assert.True(code == 0, stderr);
        Assert.Equal(0, store.DistillDm(fromFlags, iterations: 2, evalEvery: 0).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(fromFlags, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(fromFile, "syn.safetensors")));
        // A run's own config.json replays it.
        var replayed = store.Dir.File("cfg-replay");
        (code, _, stderr) = CliTests.Run("distill", "--config", Path.Combine(fromFlags, "config.json"), "--out", replayed);
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(fromFlags, "syn.safetensors")),
            File.ReadAllBytes(Path.Combine(replayed, "syn.safetensors")));
        (code, _, stderr) = CliTests.Run("distill", "--iterations", "3", "--config", DmConfig(), "--out", overridden);
        Assert.True(code == 0, stderr);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(overridden, "metrics.jsonl")).Length);
    }

    [Theory]
    [InlineData("{\"ipcs\": 1}", "'ipcs' is not an option of `dm`")]
    [InlineData("{\"ipc\": 1,", "is not valid JSON")]
    [InlineData("[1, 2]", "must hold one JSON object")]
    [InlineData("{\"ipc\": {\"a\": 1}}", "'ipc' has a object value")]
    [InlineData("{\"syn-steps\": 5}", "'syn-steps' is not an option of `dm`")]
    public void BadConfig_ExitsTwoNamingTheFile(string json, string expected)
    {
        var path = Config("bad.json", json);
        var (code, _, stderr) = CliTests.Run("distill", "dm", "--config", path);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Contains("bad.json", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("{\"ipc\": 1}", "names no distill subcommand in \"method\"")]
    [InlineData("{\"method\": \"kip\", \"ipc\": 1}", "names no distill subcommand in \"method\"")]
    public void AConfigFileWithoutAMethod_NeedsOne(string json, string expected)
    {
        var path = Config("no-method.json", json);
        var (code, _, stderr) = CliTests.Run("distill", "--config", path);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void MissingConfigFile_ExitsTwo()
    {
        var (code, _, stderr) = CliTests.Run("coreset", "--config", store.Dir.File("nowhere.json"));
        Assert.Equal(2, code);
        Assert.Contains("config file not found", stderr);
    }

    /// <summary>Random bytes as a config file: expanded or refused with a UserError, nothing else.</summary>
    [Property(MaxTest = 200)]
    public bool RandomBytes_AreExpandedOrRefused(byte[] content)
    {
        var root = new RootCommand { new Command("verb") { new Option<int>("--ipc"), new Option<string>("--method") } };
        var path = store.Dir.File("fuzz.json");
        File.WriteAllBytes(path, content ?? []);
        try { ConfigFile.Expand(["verb", "--config", path], root); }
        catch (UserError) { }
        return true;
    }
}
