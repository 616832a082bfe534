using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void ConvForwardBackward_RunsInTheTestProcess()
    {
        TorchRuntime.Start();
        using var scope = NewDisposeScope();
        var x = ones(2, 3, 8, 8);
        var w = full(new long[] { 4, 3, 3, 3 }, 0.5f).requires_grad_();
        var y = F.conv2d(x, w, padding: new long[] { 1, 1 });
        var grad = autograd.grad(new[] { y.sum() }, new[] { w })[0];
        Assert.Equal(13.5f, y[0, 0, 4, 4].item<float>());            // 27 ones × 0.5 in the interior
        Assert.Equal(2 * 64f, grad[0, 0, 1, 1].item<float>());        // centre tap sees every pixel of both images
    }

    [Fact]
    public void LibTorchSharp_NextToTests_HasGlibcxx3432MarkedWeak()
    {
        var libraries = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(libraries);
        foreach (var library in libraries)
        {
            var needs = ElfVersionNeeds.Read(library);
            Assert.Contains(needs, n => n.Name.StartsWith("GLIBCXX_"));
            foreach (var (name, flags) in needs.Where(n => n.Name == "GLIBCXX_3.4.32"))
                Assert.True((flags & ElfVersionNeeds.WeakFlag) != 0, $"{library}: {name} is not weak");
        }
    }

    [Fact]
    public void ElfReader_RefusesNonElfFiles()
    {
        using var dir = new TestData.TempDir();
        File.WriteAllText(dir.File("x.so"), "not an elf file at all, just some text to be long enough for the header check......");
        var e = Assert.Throws<UserError>(() => ElfVersionNeeds.Read(dir.File("x.so")));
        Assert.Contains("x.so", e.Message);
    }
}
