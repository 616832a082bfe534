using System.Collections;
using Mim4dd.Augment;
using Mim4dd.IO;
using Mim4dd.Tests.Cli;
using StbImageSharp;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Interop;

/// <summary>`mim4dd export` on a set of real MNIST images: what the other tools load is the set itself.</summary>
public class ExportTests
{
    /// <summary>A run directory holding the first <paramref name="n"/> MNIST training images as its set, normalised.</summary>
    private static void WriteSet(string runDirectory, int n, string? zcaDirectory = null, bool soft = false)
    {
        Directory.CreateDirectory(runDirectory);
        using var slice = TestData.Slice(TestData.Mnist.Train, n);
        var images = slice.Floats(TestData.Mnist.Normalization);
        var logits = soft ? randn(n, 10, generator: Mim4dd.Runtime.Rng.Torch(3)) : null;
        using var set = new SyntheticSet(images, slice.Labels.clone(), "mnist", 0.0125, zcaDirectory, logits);
        set.Save(new RunDirectory(runDirectory).Synthetic, TestData.Mnist.Normalization);
    }

    [TorchFact]
    public void Mtt_TorchLoadGivesTheSetsTensors()
    {
        using var dir = new TestData.TempDir();
        WriteSet(dir.File("run"), 20);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", "mtt", "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        // PyTorch loads each file as one tensor (as the MTT/DATM scripts do) and saves the three in a dict we read back.
        PyTorch.Check("""
            import sys, os, torch
            d = sys.argv[1]
            x, y, lr = (torch.load(os.path.join(d, f + "_best.pt")) for f in ("images", "labels", "lr"))
            assert isinstance(x, torch.Tensor) and lr.dim() == 0, (type(x), lr.shape)
            torch.save({"x": x, "y": y, "lr": lr}, os.path.join(d, "check.pt"))
            """, dir.File("out"));
        using var set = SyntheticSet.Load(new RunDirectory(dir.File("run")).Synthetic);
        var back = (Hashtable)TorchFile.Load(dir.File("out/check.pt"))!;
        using var x = (Tensor)back["x"]!;
        using var y = (Tensor)back["y"]!;
        using var lr = (Tensor)back["lr"]!;
        Assert.True(x.equal(set.Images).all().item<bool>());
        Assert.True(y.equal(set.Labels).all().item<bool>());
        Assert.Equal(0.0125f, lr.item<float>());
    }

    [Theory]
    [InlineData(false, "npz", "\"hard (class indices)\"")]
    [InlineData(true, "npz", "y_soft: the learned soft labels, logits [6, 10]")]
    [InlineData(true, "datm", "soft: labels_best.pt holds the learned logits [6, 10]")]
    [InlineData(true, "mtt", "learned soft labels are not in this layout")]
    [InlineData(true, "png-folder", "learned soft labels are not in this layout")]
    public void SetJson_SaysWhatTheLabelsAre_AndWhereASetsSoftLabelsWent(bool soft, string format, string expected)
    {
        using var dir = new TestData.TempDir();
        WriteSet(dir.File("run"), 6, soft: soft);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", format, "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        Assert.Contains(expected, File.ReadAllText(dir.File("out/set.json")));
    }

    [Theory]
    [InlineData("datm", "")]
    [InlineData("npz", "set.npz")]
    public void ASoftLabelSet_ReadsBack_WithItsLogits(string format, string file)
    {
        using var dir = new TestData.TempDir();
        WriteSet(dir.File("run"), 6, soft: true);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", format, "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        using var saved = SyntheticSet.Load(new RunDirectory(dir.File("run")).Synthetic);

        using var back = SetImport.Load(Path.Combine(dir.File("out"), file), "mnist", null, out _);

        Assert.True(back.Images.equal(saved.Images).all().item<bool>());
        Assert.True(back.SoftLabels!.equal(saved.SoftLabels!).all().item<bool>());
        // DATM's layout keeps only the logits: the class is their argmax. The .npz keeps both.
        var labels = format == "datm" ? saved.SoftLabels!.argmax(1) : saved.Labels;
        Assert.True(back.Labels.equal(labels).all().item<bool>());
        Assert.Equal(0.0125, back.LearningRate, 6);
    }

    [Fact]
    public void ANpzOfOtherTypes_ReadsAsFloatImagesAndIndexLabels_IgnoringArraysASetHasNot()
    {
        using var dir = new TestData.TempDir();
        using var x = randn(new long[] { 2, 1, 28, 28 }, ScalarType.Float64, generator: Mim4dd.Runtime.Rng.Torch(4));
        NpzWriter.Save(dir.File("other.npz"), new Dictionary<string, Tensor>
        {
            ["images"] = x, ["labels"] = tensor(new byte[] { 3, 7 }), ["lr"] = tensor(0.02), ["extra"] = zeros(5),
        });

        using var set = SetImport.Load(dir.File("other.npz"), "mnist", null, out _);

        Assert.Equal(ScalarType.Float32, set.Images.dtype);
        Assert.True(set.Images.allclose(x.to_type(ScalarType.Float32)));
        Assert.Equal(new long[] { 3, 7 }, set.Labels.data<long>().ToArray());
        Assert.Equal(0.02, set.LearningRate, 9);
        Assert.Null(set.SoftLabels);
    }

    [Fact]
    public void ANpzWithoutImages_IsRefusedNamingTheKeysLookedFor()
    {
        using var dir = new TestData.TempDir();
        NpzWriter.Save(dir.File("bad.npz"), new Dictionary<string, Tensor> { ["y"] = tensor(new long[] { 0, 1 }) });
        var error = Assert.Throws<Mim4dd.Runtime.UserError>(() => SetImport.Load(dir.File("bad.npz"), "mnist", null, out _));
        Assert.Contains("has no images (looked for images, x, image_syn)", error.Message);
    }

    [Fact]
    public void PngFolder_HoldsTheOriginalPixels_OneFolderPerClass()
    {
        using var dir = new TestData.TempDir();
        WriteSet(dir.File("run"), 12);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", "png-folder", "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        using var slice = TestData.Slice(TestData.Mnist.Train, 12);
        var labels = slice.Labels.data<long>().ToArray();
        for (int i = 0; i < labels.Length; i++)
        {
            var png = ImageResult.FromMemory(File.ReadAllBytes(dir.File($"out/{labels[i]:D3}/{i:D5}.png")), ColorComponents.Grey);
            Assert.Equal(slice.ImagesU8[i].data<byte>().ToArray(), png.Data);
        }
        Assert.Equal(labels.Distinct().Count(), Directory.GetDirectories(dir.File("out")).Length);
    }

    [Fact]
    public void Mtt_ZcaSet_WritesItsWhitening_ThatWhitensAsTheStoreDoes()
    {
        using var dir = new TestData.TempDir();
        using var slice = TestData.Slice(TestData.Mnist.Train, 64);
        using var raw = slice.Floats(new Mim4dd.Data.Normalization([0f], [1f]));
        using (var fit = Zca.Fit(raw)) fit.Save(dir.File("zca.bin"));
        Directory.CreateDirectory(dir.File("run"));
        using var zca = Zca.Load(dir.File("zca.bin"));
        using (var set = new SyntheticSet(zca.Whiten(raw), slice.Labels.clone(), "mnist", 0.01, dir.Path))
            set.Save(new RunDirectory(dir.File("run")).Synthetic);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", "mtt", "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        var exported = PtExport.Load(dir.File("out/zca.pt"));
        using var mean = exported["mean"];
        using var matrix = exported["matrix"];
        using var scope = NewDisposeScope();
        var whitened = (raw.reshape(64, -1) - mean).mm(matrix);
        Assert.True(whitened.allclose(zca.Whiten(raw).reshape(64, -1), rtol: 1e-4, atol: 1e-4));
        Assert.Contains("ZCA-whitened", File.ReadAllText(dir.File("out/set.json")));
    }

    [Fact]
    public void UnknownFormat_ExitsTwoNamingTheFormats()
    {
        using var dir = new TestData.TempDir();
        WriteSet(dir.File("run"), 10);
        var (code, _, stderr) = CliTests.Run("export", dir.File("run"), "--format", "tfrecord");
        Assert.Equal(2, code);
        Assert.Contains("mtt, datm, npz, png-folder", stderr);
    }
}
